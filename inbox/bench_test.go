package inbox_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkInboxCreate measures one signed Create(Note) POST through the
// inbox handler (signature verification with a cached key, parse, checks,
// idempotent store, side effects) into memstore. Requests are signed
// outside the timer.
func BenchmarkInboxCreate(b *testing.B) {
	r := newRig(b)
	const batch = 256
	sign := func(i int) *http.Request {
		id := fmt.Sprintf("%s/creates/%d", r.alice.IRI(), i)
		body := fmt.Appendf(nil, `{"@context":"https://www.w3.org/ns/activitystreams","id":%q,"type":"Create","actor":%q,
"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["%s/followers"],
"object":{"id":"%s/statuses/%d","type":"Note","attributedTo":%q,"content":"<p>benchmark note %d</p>",
"to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["%s/followers"],"published":"2026-11-22T10:00:00Z"}}`,
			id, r.alice.IRI(), r.alice.IRI(), r.alice.IRI(), i, r.alice.IRI(), i, r.alice.IRI())
		req := httptest.NewRequest(http.MethodPost, "https://b.example/inbox", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/activity+json")
		if err := r.alice.Signer().SignRequest(req, body); err != nil {
			b.Fatal(err)
		}
		return req
	}
	// Warm the key cache.
	rec := httptest.NewRecorder()
	r.b.Handler.ServeHTTP(rec, sign(-1))
	if rec.Code != http.StatusAccepted {
		b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	reqs := make([]*http.Request, 0, batch)
	for i := 0; i < b.N; i++ {
		if len(reqs) == 0 {
			b.StopTimer()
			for j := range batch {
				reqs = append(reqs, sign(i+j))
			}
			b.StartTimer()
		}
		req := reqs[0]
		reqs = reqs[1:]
		rec := httptest.NewRecorder()
		r.b.Handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
