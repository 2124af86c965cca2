package inbox

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

// Every real-world activity in the fixtures (internal/testdata/fixtures) goes through the
// pipeline after authentication (as if its actor had signed it): none may
// cause a server error, and each Create of a same-origin embedded object
// must store it.
func TestRealWorldActivities(t *testing.T) {
	files, err := filepath.Glob("../internal/testdata/fixtures/activities/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	ctx := context.Background()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			st := memstore.New()
			h, err := New(st, actor.NewDirectory(st, "local.example", nil), httpsig.NewVerifier(nil, nil),
				&Options{Worker: worker.New(st, nil)})
			if err != nil {
				t.Fatal(err)
			}
			v, err := ap.Parse(ctx, raw)
			if err != nil {
				if s := ap.StatusOf(err); s >= 500 {
					t.Fatalf("parse: %v", err)
				}
				return // refused as bad input; ap's tests decide which
			}
			var owner string
			if as := ap.Actors(v); len(as) > 0 {
				owner = as[0].String()
			}
			d, err := ap.Decode(raw)
			if err != nil {
				t.Fatalf("Parse accepts what Decode refuses: %v", err)
			}
			act, err := newActivity(d, raw, &httpsig.Result{Owner: owner}, nil)
			if err != nil {
				if s := ap.StatusOf(err); s < 400 || s >= 500 {
					t.Fatalf("checks: %v", err)
				}
				t.Logf("refused: %v", err)
				return
			}
			err = h.accept(ctx, act)
			if s := ap.StatusOf(err); s >= 500 {
				t.Fatalf("accept: %v", err)
			} else if err != nil {
				t.Logf("refused (%d): %v", s, err)
				return
			}
			if refused := processAll(t, h); refused != "" {
				t.Logf("refused while processing: %s", refused)
				return
			}
			if act.Type != "Create" {
				return
			}
			ids, vals := ap.ObjectRefs(v)
			for i, id := range ids {
				if vals[i] == nil || !ap.SameOrigin(id, act.Actor) {
					continue
				}
				o, err := st.GetObject(ctx, id.String())
				if err != nil {
					t.Fatalf("created object %s not stored: %v", id, err)
				}
				if !strings.EqualFold(o.Type, ap.Type(vals[i])) && o.Type != vals[i].GetTypeName() {
					t.Errorf("stored type %q, want %q", o.Type, vals[i].GetTypeName())
				}
			}
			if status := ap.StatusOf(err); status != http.StatusOK {
				t.Errorf("status %d", status)
			}
		})
	}
}

// processAll runs every due processing job of h in this goroutine, as the
// worker would, failing the test on an attempt that would be retried (a
// server error). It returns the reasons of the jobs discarded (activities
// refused while processing), "" when there were none.
func processAll(t *testing.T, h *Handler) (refused string) {
	t.Helper()
	ctx := t.Context()
	for {
		jobs, err := h.db.Claim(ctx, []string{ProcessKind}, 100, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 0 {
			return refused
		}
		for _, j := range jobs {
			err := h.processJob(ctx, j)
			switch {
			case err == nil:
				err = h.db.Complete(ctx, j)
			case errors.Is(err, worker.ErrFinished):
				err = nil
			case worker.IsPermanent(err):
				refused += err.Error() + "; "
				err = h.db.Discard(ctx, j, err.Error())
			default:
				t.Fatalf("processing failed and would be retried: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.db.GetJob(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State == store.JobDiscarded && !strings.Contains(refused, got.LastError) {
				refused += got.LastError + "; "
			}
		}
	}
}
