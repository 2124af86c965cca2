package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

// As for Run, RunDriver and RunJobs are only worth something if they fail
// broken drivers: each case breaks one contract of memstore.Driver and
// names the subtest that must catch it.
var brokenDriverCases = map[string]struct {
	wrap     func(store.DriverTx) store.DriverTx
	commit   bool   // commit a unit even when fn fails
	mustFail string // subtest of TestBrokenStoreDriver that must fail; "" must pass
}{
	"none":               {wrap: func(tx store.DriverTx) store.DriverTx { return tx }},
	"commit-on-error":    {wrap: func(tx store.DriverTx) store.DriverTx { return tx }, commit: true, mustFail: "Driver/Units/RollbackOnError"},
	"find-no-asc":        {wrap: func(tx store.DriverTx) store.DriverTx { return findNoAsc{tx} }, mustFail: "Driver/FindObjects/ByField"},
	"items-inclusive":    {wrap: func(tx store.DriverTx) store.DriverTx { return itemsInclusive{tx} }, mustFail: "Driver/Collections/Range"},
	"value-immortal":     {wrap: func(tx store.DriverTx) store.DriverTx { return valueImmortal{tx} }, mustFail: "Driver/Values/Expiry"},
	"unique-ignored":     {wrap: func(tx store.DriverTx) store.DriverTx { return uniqueIgnored{tx} }, mustFail: "Jobs/Insert/Unique"},
	"claim-early":        {wrap: func(tx store.DriverTx) store.DriverTx { return claimEarly{tx} }, mustFail: "Jobs/Claim/OnlyDue"},
	"finish-stale":       {wrap: func(tx store.DriverTx) store.DriverTx { return finishStale{tx} }, mustFail: "Jobs/Claim/LeaseExpiry"},
	"delete-future":      {wrap: func(tx store.DriverTx) store.DriverTx { return deleteFuture{tx} }, mustFail: "Jobs/Delete/Retention"},
	"list-ignores-after": {wrap: func(tx store.DriverTx) store.DriverTx { return listNoAfter{tx} }, mustFail: "Jobs/List/Paging"},
}

const driverBrokenEnv = "STORETEST_BROKEN_STORE_DRIVER"

// TestBrokenStoreDriver runs both suites against one broken driver when
// TestDriverSuitesCatchBrokenDrivers asks for it; otherwise it is skipped.
func TestBrokenStoreDriver(t *testing.T) {
	name := os.Getenv(driverBrokenEnv)
	if name == "" {
		t.Skip("run by TestDriverSuitesCatchBrokenDrivers")
	}
	bc := brokenDriverCases[name]
	newDriver := func(t *testing.T) store.Driver {
		return &brokenDriver{Driver: memstore.NewDriver(), wrap: bc.wrap, commit: bc.commit}
	}
	t.Run("Driver", func(t *testing.T) { storetest.RunDriver(t, newDriver) })
	t.Run("Jobs", func(t *testing.T) { storetest.RunJobs(t, newDriver) })
}

func TestDriverSuitesCatchBrokenDrivers(t *testing.T) {
	for name, bc := range brokenDriverCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenStoreDriver$", "-test.v")
			cmd.Env = append(os.Environ(), driverBrokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if bc.mustFail == "" {
				if err != nil {
					t.Fatalf("the suites fail a working driver: %v\n%s", err, out)
				}
				return
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suites passed a driver broken by %s (err %v)\n%s", name, err, out)
			}
			want := regexp.MustCompile(`(?m)^\s*--- FAIL: TestBrokenStoreDriver/` + regexp.QuoteMeta(bc.mustFail) + ` `)
			if !want.Match(out) {
				t.Errorf("subtest %s did not fail for %s; output:\n%s", bc.mustFail, name, out)
			}
		})
	}
}

type brokenDriver struct {
	store.Driver
	wrap   func(store.DriverTx) store.DriverTx
	commit bool
}

func (b *brokenDriver) Update(ctx context.Context, fn func(store.DriverTx) error) error {
	var ferr error
	err := b.Driver.Update(ctx, func(tx store.DriverTx) error {
		ferr = fn(b.wrap(tx))
		if b.commit {
			return nil
		}
		return ferr
	})
	if b.commit && ferr != nil {
		return ferr
	}
	return err
}

func (b *brokenDriver) View(ctx context.Context, fn func(store.DriverTx) error) error {
	return b.Driver.View(ctx, func(tx store.DriverTx) error { return fn(b.wrap(tx)) })
}

type findNoAsc struct{ store.DriverTx }

func (f findNoAsc) FindObjects(ctx context.Context, q store.ObjectQuery) ([]*store.Object, error) {
	q.Range.Ascending = false
	return f.DriverTx.FindObjects(ctx, q)
}

type itemsInclusive struct{ store.DriverTx }

func (f itemsInclusive) Items(ctx context.Context, c string, r store.Range) ([]store.Item, error) {
	if r.Before != 0 {
		r.Before++
	}
	return f.DriverTx.Items(ctx, c, r)
}

type valueImmortal struct{ store.DriverTx }

func (f valueImmortal) GetValue(ctx context.Context, key string, _ time.Time) ([]byte, error) {
	return f.DriverTx.GetValue(ctx, key, time.Time{})
}

type uniqueIgnored struct{ store.DriverTx }

func (f uniqueIgnored) InsertJob(ctx context.Context, j *store.Job) (bool, error) {
	c := *j
	c.UniqueKey = ""
	ok, err := f.DriverTx.InsertJob(ctx, &c)
	j.ID = c.ID
	return ok, err
}

type claimEarly struct{ store.DriverTx }

func (f claimEarly) ClaimJobs(ctx context.Context, p store.ClaimParams) ([]*store.Job, error) {
	p.Now = p.Now.Add(2 * time.Hour)
	p.LeaseUntil = p.LeaseUntil.Add(2 * time.Hour)
	return f.DriverTx.ClaimJobs(ctx, p)
}

type finishStale struct{ store.DriverTx }

func (f finishStale) FinishJob(ctx context.Context, r store.JobResult) error {
	if j, err := f.DriverTx.GetJob(ctx, r.ID); err == nil {
		r.Attempt = j.Attempt
	}
	return f.DriverTx.FinishJob(ctx, r)
}

type deleteFuture struct{ store.DriverTx }

func (f deleteFuture) DeleteJobs(ctx context.Context, _ time.Time, limit int) (int, error) {
	return f.DriverTx.DeleteJobs(ctx, time.Now().AddDate(10, 0, 0), limit)
}

type listNoAfter struct{ store.DriverTx }

func (f listNoAfter) ListJobs(ctx context.Context, q store.JobQuery) ([]*store.Job, error) {
	q.AfterID = 0
	return f.DriverTx.ListJobs(ctx, q)
}
