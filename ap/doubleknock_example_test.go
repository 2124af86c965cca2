package ap_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store/memstore"
)

// A server that verifies only RFC 9421 signatures gets a draft-cavage
// signature first (the safe default), refuses it, and gets the request
// again signed with RFC 9421. The transport remembers that in the store, so
// the next request to that host is signed right the first time.
func ExampleHTTPTransport_doubleKnock() {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	signer, _ := httpsig.NewSigner("https://local.example/users/alice#main-key", key, nil)
	verifier := httpsig.NewVerifier(staticKeys{signer.KeyID(): &key.PublicKey}, nil)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := verifier.Verify(r)
		if err != nil || res.Scheme != httpsig.SchemeRFC9421 {
			fmt.Println("refused a", scheme(r), "signature")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Println("accepted an", res.Scheme, "signature")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	st := memstore.New()
	tr := ap.NewHTTPTransport(&ap.HTTPTransportOptions{Values: st, AllowPrivate: true})
	inbox, _ := url.Parse(srv.URL + "/inbox")
	ctx := context.Background()
	body := []byte(`{"type":"Follow"}`)
	fmt.Println(tr.Post(ctx, inbox, body, signer))
	fmt.Println(tr.Post(ctx, inbox, body, signer))

	remembered, _ := st.GetValue(ctx, ap.SchemeKeyPrefix+inbox.Host)
	fmt.Println("remembered:", string(remembered))
	// Output:
	// refused a draft-cavage-12 signature
	// accepted an rfc9421 signature
	// <nil>
	// accepted an rfc9421 signature
	// <nil>
	// remembered: rfc9421
}

func scheme(r *http.Request) string {
	if r.Header.Get("Signature-Input") != "" {
		return httpsig.SchemeRFC9421
	}
	return httpsig.SchemeCavage
}
