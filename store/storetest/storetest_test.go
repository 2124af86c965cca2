package storetest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/storetest"
)

// The suite is only worth something if it fails broken drivers. Each case
// breaks one contract of a working driver and names the subtest that must
// catch it; "none" is the control: the same harness must pass.
var brokenDrivers = map[string]struct {
	wrap     func(*store.DB) store.Store
	mustFail string // subtest of Run that must fail; "" means the run must pass
}{
	"none":              {func(s *store.DB) store.Store { return s }, ""},
	"shared-get":        {func(s *store.DB) store.Store { return &sharedGet{Store: s} }, "Objects/DataCopiedOut"},
	"put-resets":        {func(s *store.DB) store.Store { return putResets{s} }, "Objects/PutKeepsCreated"},
	"racy-create":       {func(s *store.DB) store.Store { return racyCreate{s} }, "Objects/CreateConcurrent"},
	"dup-moves":         {func(s *store.DB) store.Store { return dupMoves{s} }, "Collections/DuplicateKeepsPosition"},
	"offset-cursor":     {func(s *store.DB) store.Store { return offsetCursor{s} }, "Collections/CursorStable"},
	"lenient-cursor":    {func(s *store.DB) store.Store { return lenientCursor{s} }, "Collections/MalformedCursor"},
	"last-page-next":    {func(s *store.DB) store.Store { return lastPageNext{s} }, "Collections/PagingExactMultiple"},
	"case-insensitive":  {func(s *store.DB) store.Store { return &foldAccounts{Store: s} }, "Accounts/CaseSensitive"},
	"delete-key-silent": {func(s *store.DB) store.Store { return silentDeleteKey{s} }, "Keys/Delete"},
	"value-immortal":    {func(s *store.DB) store.Store { return immortalValues{s} }, "Values/Expired"},
	"value-aliased":     {func(s *store.DB) store.Store { return &aliasedValues{Store: s} }, "Values/CopiedIn"},
}

const brokenEnv = "STORETEST_BROKEN_DRIVER"

// TestBrokenDriver runs the suite against one broken driver when the
// parent test asks for it through the environment; otherwise it is skipped.
func TestBrokenDriver(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatchesBrokenDrivers")
	}
	storetest.Run(t, func(*testing.T) store.Store { return brokenDrivers[name].wrap(memstore.New()) })
}

func TestSuiteCatchesBrokenDrivers(t *testing.T) {
	for name, bd := range brokenDrivers {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenDriver$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if bd.mustFail == "" {
				if err != nil {
					t.Fatalf("the suite fails a working driver: %v\n%s", err, out)
				}
				return
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed a driver broken by %s (err %v)\n%s", name, err, out)
			}
			want := regexp.MustCompile(`(?m)^\s*--- FAIL: TestBrokenDriver/` + regexp.QuoteMeta(bd.mustFail) + ` `)
			if !want.Match(out) {
				t.Errorf("subtest %s did not fail for %s; output:\n%s", bd.mustFail, name, out)
			}
		})
	}
}

// sharedGet hands every caller the same *Object, so a caller's mutation
// shows up in the next GetObject.
type sharedGet struct {
	store.Store
	mu    sync.Mutex
	cache map[string]*store.Object
}

func (s *sharedGet) GetObject(ctx context.Context, iri string) (*store.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.cache[iri]; ok {
		return o, nil
	}
	o, err := s.Store.GetObject(ctx, iri)
	if err == nil {
		if s.cache == nil {
			s.cache = map[string]*store.Object{}
		}
		s.cache[iri] = o
	}
	return o, err
}

// putResets replaces an object by deleting and creating it: Created resets.
type putResets struct{ store.Store }

func (s putResets) PutObject(ctx context.Context, o *store.Object) error {
	_ = s.Store.DeleteObject(ctx, o.IRI)
	c := *o
	c.Created = time.Time{}
	return s.Store.CreateObject(ctx, &c)
}

// racyCreate checks, then writes: not atomic.
type racyCreate struct{ store.Store }

func (s racyCreate) CreateObject(ctx context.Context, o *store.Object) error {
	if _, err := s.Store.GetObject(ctx, o.IRI); err == nil {
		return store.ErrExists
	}
	time.Sleep(10 * time.Millisecond) // widen the window
	return s.Store.PutObject(ctx, o)
}

// dupMoves moves a duplicate to the newest position, though it reports ErrExists.
type dupMoves struct{ store.Store }

func (s dupMoves) AddItem(ctx context.Context, c, item string) error {
	if ok, _ := s.Store.HasItem(ctx, c, item); ok {
		_ = s.Store.RemoveItem(ctx, c, item)
		_ = s.Store.AddItem(ctx, c, item)
		return store.ErrExists
	}
	return s.Store.AddItem(ctx, c, item)
}

// all returns every item of a collection, newest first.
func all(ctx context.Context, s store.Store, c string) ([]string, error) {
	p, err := s.Items(ctx, c, "", 1<<30)
	return p.Items, err
}

// offsetCursor pages by offset, which skips items when older ones are removed.
type offsetCursor struct{ store.Store }

func (s offsetCursor) Items(ctx context.Context, c, cursor string, limit int) (store.Page, error) {
	off := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil {
			return store.Page{}, store.ErrNotFound
		}
		off = n
	}
	items, err := all(ctx, s.Store, c)
	if err != nil || off >= len(items) {
		return store.Page{}, err
	}
	if limit <= 0 {
		limit = 20
	}
	end := min(off+limit, len(items))
	p := store.Page{Items: items[off:end]}
	if end < len(items) {
		p.Next = strconv.Itoa(end)
	}
	return p, nil
}

// lenientCursor restarts from the newest item on a cursor it cannot parse.
type lenientCursor struct{ store.Store }

func (s lenientCursor) Items(ctx context.Context, c, cursor string, limit int) (store.Page, error) {
	p, err := s.Store.Items(ctx, c, cursor, limit)
	if err != nil {
		return s.Store.Items(ctx, c, "", limit)
	}
	return p, nil
}

// lastPageNext gives a full last page a Next cursor.
type lastPageNext struct{ store.Store }

func (s lastPageNext) Items(ctx context.Context, c, cursor string, limit int) (store.Page, error) {
	p, err := s.Store.Items(ctx, c, cursor, limit)
	if err == nil && p.Next == "" && limit > 0 && len(p.Items) == limit {
		all, _ := all(ctx, s.Store, c)
		if all[len(all)-1] == p.Items[len(p.Items)-1] {
			// Point past the oldest item: the next page is empty.
			p.Next = "1"
		}
	}
	return p, err
}

// foldAccounts treats usernames case-insensitively.
type foldAccounts struct {
	store.Store
	taken sync.Map // lower-cased usernames
}

func (s *foldAccounts) CreateAccount(ctx context.Context, a *store.Account) error {
	if _, loaded := s.taken.LoadOrStore(strings.ToLower(a.Username), true); loaded {
		return store.ErrExists
	}
	return s.Store.CreateAccount(ctx, a)
}

// silentDeleteKey reports success for a key that is not there.
type silentDeleteKey struct{ store.Store }

func (s silentDeleteKey) DeleteKey(ctx context.Context, id string) error {
	_ = s.Store.DeleteKey(ctx, id)
	return nil
}

// immortalValues ignores expiry.
type immortalValues struct{ store.Store }

func (s immortalValues) PutValue(ctx context.Context, key string, v []byte, _ time.Time) error {
	return s.Store.PutValue(ctx, key, v, time.Time{})
}

// aliasedValues keeps the caller's slice instead of a copy.
type aliasedValues struct {
	store.Store
	mu sync.Mutex
	m  map[string][]byte
}

func (s *aliasedValues) PutValue(ctx context.Context, key string, v []byte, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = v
	return s.Store.PutValue(ctx, key, v, exp)
}

func (s *aliasedValues) GetValue(ctx context.Context, key string) ([]byte, error) {
	if _, err := s.Store.GetValue(ctx, key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}
