package inbox

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzJobPayloadMarshal checks that jobPayload.marshal writes what
// json.Marshal writes, byte for byte, and that it decodes back.
func FuzzJobPayloadMarshal(f *testing.F) {
	f.Add("https://mastodon.example/users/felix/statuses/1/activity", "bob", "https://mastodon.example/users/felix#main-key",
		"https://mastodon.example/users/felix", "rsa-sha256", "cavage", int64(1764800000123456789))
	f.Add("https://a.example/\"quoted\"\\<&>\u00e9\x01\xff", "", "", "", "", "", int64(0))
	f.Add("", "\u2028", "k", "", "hs2019", "rfc9421", int64(-62135596800000000))
	f.Fuzz(func(t *testing.T, id, to, kid, owner, alg, scheme string, signed int64) {
		p := jobPayload{ID: id, Receiver: to, KeyID: kid, Owner: owner, Algorithm: alg, Scheme: scheme}
		if signed != 0 {
			p.Signed = time.Unix(0, signed).UTC()
			if signed%2 != 0 { // a time with an offset, as a Date header may give
				p.Signed = p.Signed.In(time.FixedZone("", int(signed%86400)))
			}
		}
		want, werr := json.Marshal(p)
		got, gerr := p.marshal()
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("marshal error %v, json.Marshal's %v", gerr, werr)
		}
		if werr != nil {
			return
		}
		if string(got) != string(want) {
			t.Fatalf("marshal wrote\n%s\njson.Marshal\n%s", got, want)
		}
		var back jobPayload
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
	})
}
