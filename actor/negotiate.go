package actor

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Media types of ActivityStreams documents.
const (
	// ContentTypeActivity is what the handlers answer with.
	ContentTypeActivity = "application/activity+json"
	// ContentTypeLD is the JSON-LD form with the ActivityStreams profile,
	// used when a client accepts only application/ld+json.
	ContentTypeLD = `application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
)

// mediaRange is one element of an Accept header.
type mediaRange struct {
	typ, sub string
	q        float64
}

// parseAccept parses an Accept header leniently: malformed elements are
// skipped, a malformed q counts as 1, at most 32 elements are read.
func parseAccept(header string) []mediaRange {
	var out []mediaRange
	for part := range strings.SplitSeq(header, ",") {
		if len(out) == 32 {
			break
		}
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			// mime rejects some parameters real clients send; retry with
			// the bare type.
			mt, _, _ = strings.Cut(part, ";")
			mt = strings.ToLower(strings.TrimSpace(mt))
			params = nil
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok || typ == "" || sub == "" {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if v, err := strconv.ParseFloat(s, 64); err == nil && v >= 0 && v <= 1 {
				q = v
			}
		}
		out = append(out, mediaRange{typ: typ, sub: sub, q: q})
	}
	return out
}

// quality returns the q the ranges give to typ/sub: that of the most
// specific matching range (exact, then type/*, then */*), 0 if none match.
func quality(ranges []mediaRange, typ, sub string) float64 {
	best, q := -1, 0.0
	for _, r := range ranges {
		spec := -1
		switch {
		case r.typ == typ && r.sub == sub:
			spec = 2
		case r.typ == typ && r.sub == "*":
			spec = 1
		case r.typ == "*" && r.sub == "*":
			spec = 0
		}
		if spec > best {
			best, q = spec, r.q
		}
	}
	return q
}

// negotiation is what a request for an actor URL asks for.
type negotiation int

const (
	wantJSON negotiation = iota
	wantLD
	wantHTML
	wantNothing // nothing we can serve: 406
)

// negotiate chooses between the ActivityStreams forms and HTML. A missing
// Accept header means JSON. HTML is chosen only when it is strictly
// preferred over every ActivityStreams type and haveHTML is true; a tie
// goes to JSON, since federation peers are the clients that must work.
func negotiate(r *http.Request, haveHTML bool) negotiation {
	header := strings.Join(r.Header.Values("Accept"), ",")
	if strings.TrimSpace(header) == "" {
		return wantJSON
	}
	ranges := parseAccept(header)
	if len(ranges) == 0 {
		return wantJSON
	}
	activity := quality(ranges, "application", "activity+json")
	ld := quality(ranges, "application", "ld+json")
	plain := quality(ranges, "application", "json")
	js := max(activity, ld, plain)
	html := quality(ranges, "text", "html")
	switch {
	case haveHTML && html > js:
		return wantHTML
	case js == 0:
		return wantNothing
	case ld > activity && ld >= plain:
		return wantLD
	}
	return wantJSON
}
