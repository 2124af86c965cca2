package actor

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/store/memstore"
)

func webfinger(t *testing.T, s *testServer, resource string) (*http.Response, JRD) {
	t.Helper()
	resp, body := s.get("/.well-known/webfinger?resource="+url.QueryEscape(resource), "")
	var j JRD
	if resp.StatusCode == http.StatusOK {
		require.NoError(t, json.Unmarshal(body, &j), "%s", body)
	}
	return resp, j
}

func TestWebFinger(t *testing.T) {
	s := newTestServer(t, nil)
	s.create("alice")
	host := s.d.Host() // 127.0.0.1:port
	actorIRI := s.srv.URL + "/users/alice"
	subject := "acct:alice@" + host

	for _, resource := range []string{subject, "acct:ALICE@" + host, "alice@" + host, "acct:@alice@" + host, actorIRI, actorIRI + "#main-key"} {
		resp, j := webfinger(t, s, resource)
		require.Equal(t, http.StatusOK, resp.StatusCode, resource)
		assert.Equal(t, ContentTypeJRD, resp.Header.Get("Content-Type"))
		assert.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, subject, j.Subject, resource)
		assert.Equal(t, []string{actorIRI}, j.Aliases)
		assert.Contains(t, j.Links, JRDLink{Rel: "self", Type: "application/activity+json", Href: actorIRI})
		assert.Contains(t, j.Links, JRDLink{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: actorIRI})

		// The subject round-trips: looking it up again gives the same.
		_, again := webfinger(t, s, j.Subject)
		assert.Equal(t, j, again)
	}

	// rel filters links.
	resp, body := s.get("/.well-known/webfinger?resource="+url.QueryEscape(subject)+"&rel=self", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var j JRD
	require.NoError(t, json.Unmarshal(body, &j))
	assert.Equal(t, []JRDLink{{Rel: "self", Type: ContentTypeActivity, Href: actorIRI}}, j.Links)

	// The self link has the same shape as Mastodon's.
	raw, err := os.ReadFile(fixture("webfinger", "mastodon-docs-gargron.json"))
	require.NoError(t, err)
	var masto JRD
	require.NoError(t, json.Unmarshal(raw, &masto))
	var mself *JRDLink
	for i := range masto.Links {
		if masto.Links[i].Rel == "self" {
			mself = &masto.Links[i]
		}
	}
	require.NotNil(t, mself)
	assert.Equal(t, mself.Type, j.Links[0].Type)

	// Errors.
	tests := map[string]int{
		"":                                  http.StatusBadRequest,
		"acct:alice":                        http.StatusBadRequest,
		"acct:@" + host:                     http.StatusBadRequest,
		"acct:alice@":                       http.StatusBadRequest,
		"mailto:alice@" + host:              http.StatusBadRequest,
		"urn:x":                             http.StatusBadRequest,
		"acct:alice@" + host + "/x":         http.StatusBadRequest,
		"acct:al%zzice@" + host:             http.StatusBadRequest,
		"https://":                          http.StatusBadRequest,
		"acct:bob@" + host:                  http.StatusNotFound,
		"acct:alice@127.0.0.1":              http.StatusNotFound, // port missing: another host
		"acct:alice@other.example":          http.StatusNotFound,
		"https://other.example/users/alice": http.StatusNotFound,
		s.srv.URL + "/users/alice/inbox":    http.StatusNotFound,
		"acct:al.ice@" + host:               http.StatusNotFound,
	}
	for resource, want := range tests {
		resp, _ := webfinger(t, s, resource)
		assert.Equal(t, want, resp.StatusCode, "resource %q", resource)
	}
	resp, _ = s.get("/.well-known/webfinger", "")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "no resource parameter")
	resp, _ = s.get("/.well-known/webfinger?resource=acct:"+strings.Repeat("a", 2000)+"@"+host, "")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "huge resource")
}

func TestWebFingerInstanceActor(t *testing.T) {
	s := newTestServer(t, nil)
	resp, j := webfinger(t, s, "acct:127.0.0.1@"+s.d.Host())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "acct:127.0.0.1@"+s.d.Host(), j.Subject)
	assert.Equal(t, []JRDLink{{Rel: "self", Type: ContentTypeActivity, Href: s.srv.URL + "/actor"}}, j.Links)

	_, j2 := webfinger(t, s, s.srv.URL+"/actor")
	assert.Equal(t, j, j2)
}

// Host names compare case-insensitively and a default port equals none.
func TestWebFingerHostCase(t *testing.T) {
	d := NewDirectory(memstore.New(), "Social.Example", nil)
	_, err := d.Create(context.Background(), "alice")
	require.NoError(t, err)
	h := d.WebFingerHandler()
	for resource, want := range map[string]int{
		"acct:alice@SOCIAL.EXAMPLE":              http.StatusOK,
		"acct:alice@social.example:443":          http.StatusOK,
		"https://SOCIAL.example/users/alice":     http.StatusOK,
		"acct:alice@social.example:8443":         http.StatusNotFound,
		"acct:alice@social.example.evil.example": http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/webfinger?resource="+url.QueryEscape(resource), nil))
		require.Equal(t, want, rec.Code, resource)
		if want == http.StatusOK {
			var j JRD
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &j))
			assert.Equal(t, "acct:alice@social.example", j.Subject)
		}
	}
}

func TestHostMeta(t *testing.T) {
	s := newTestServer(t, nil)
	resp, body := s.get("/.well-known/host-meta", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/xrd+xml; charset=utf-8", resp.Header.Get("Content-Type"))
	var xrd struct {
		XMLName xml.Name
		Links   []struct {
			Rel      string `xml:"rel,attr"`
			Template string `xml:"template,attr"`
		} `xml:"Link"`
	}
	require.NoError(t, xml.Unmarshal(body, &xrd))
	assert.Equal(t, "http://docs.oasis-open.org/ns/xri/xrd-1.0", xrd.XMLName.Space)
	require.Len(t, xrd.Links, 1)
	assert.Equal(t, "lrdd", xrd.Links[0].Rel)
	assert.Equal(t, s.srv.URL+"/.well-known/webfinger?resource={uri}", xrd.Links[0].Template)
}
