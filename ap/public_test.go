package ap

import (
	"net/url"
	"testing"
)

// FuzzIsPublicURL checks IsPublicURL against IsPublic of the URL's string
// form, on whatever url.Parse accepts.
func FuzzIsPublicURL(f *testing.F) {
	for _, s := range []string{PublicIRI, "as:Public", "Public", "https://www.w3.org/ns/activitystreams#Publi",
		"https://www.w3.org/ns/activitystreams?#Public", "https://WWW.w3.org/ns/activitystreams#Public",
		"https://x@www.w3.org/ns/activitystreams#Public", "https://www.w3.org/ns/activity%73treams#Public",
		"https://www.w3.org/ns/activitystreams#%50ublic", "as:Public#x", "/Public", "Public#", "http://www.w3.org/ns/activitystreams#Public",
		"https:///ns/activitystreams#Public", "as:Public?", "https://www.w3.org/ns/activitystreams#Public?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		if got, want := IsPublicURL(u), IsPublic(u.String()); got != want {
			t.Fatalf("IsPublicURL(%q) = %v; IsPublic(%q) = %v (parsed %#v)", s, got, u.String(), want, u)
		}
	})
}
