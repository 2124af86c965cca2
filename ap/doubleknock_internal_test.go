package ap

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
)

func TestHostMemoryBounded(t *testing.T) {
	ctx := t.Context()
	m := newHostMemory(8)
	past, future := time.Now().Add(-time.Second), time.Now().Add(time.Hour)
	for i := range 4 {
		require.NoError(t, m.PutValue(ctx, fmt.Sprint("dead", i), []byte("x"), past))
	}
	for i := range 4 {
		require.NoError(t, m.PutValue(ctx, fmt.Sprint("live", i), []byte("y"), future))
	}
	// Full: the next new key evicts the expired entries first.
	require.NoError(t, m.PutValue(ctx, "new", []byte("z"), time.Time{}))
	assert.Len(t, m.m, 5)
	for i := range 4 {
		v, err := m.GetValue(ctx, fmt.Sprint("live", i))
		require.NoError(t, err)
		assert.Equal(t, "y", string(v))
	}
	// With nothing expired, it stays at its bound.
	for i := range 100 {
		require.NoError(t, m.PutValue(ctx, fmt.Sprint("more", i), []byte("w"), future))
		assert.LessOrEqual(t, len(m.m), 8)
	}
	v, err := m.GetValue(ctx, "more99")
	require.NoError(t, err)
	assert.Equal(t, "w", string(v))
	// Replacing a key never evicts.
	require.NoError(t, m.PutValue(ctx, "more99", []byte("v"), future))
	assert.Len(t, m.m, 8)

	_, err = m.GetValue(ctx, "dead0")
	assert.True(t, errors.Is(err, store.ErrNotFound))
	require.NoError(t, m.DeleteValue(ctx, "more99"))
	assert.ErrorIs(t, m.DeleteValue(ctx, "more99"), store.ErrNotFound)
	// Values are copies.
	b := []byte("abc")
	require.NoError(t, m.PutValue(ctx, "c", b, time.Time{}))
	b[0] = 'X'
	got, _ := m.GetValue(ctx, "c")
	got[1] = 'Y'
	got, _ = m.GetValue(ctx, "c")
	assert.Equal(t, "abc", string(got))
}

func TestKnockValues(t *testing.T) {
	for _, k := range []knock{
		{scheme: httpsig.SchemeCavage},
		{scheme: httpsig.SchemeRFC9421},
		{scheme: httpsig.SchemeRFC9421, accept: `sig1=("@method");created`},
	} {
		got, ok := parseKnock(k.value())
		assert.True(t, ok)
		assert.Equal(t, k, got)
	}
	for _, v := range []string{"", "rsa-sha256", "draft-cavage-12\nsig1=()", "RFC9421"} {
		_, ok := parseKnock(v)
		assert.False(t, ok, "%q", v)
	}
	assert.True(t, rememberable(`sig1=("@method");created`))
	assert.False(t, rememberable(`sig1=("@method");nonce="n"`))
	assert.False(t, rememberable(`sig1=(`))
}

func TestUnknownFirstSchemeFallsBack(t *testing.T) {
	tr := NewHTTPTransport(&HTTPTransportOptions{FirstScheme: "rsa-sha256"})
	assert.Equal(t, DefaultFirstScheme, tr.firstScheme)
	assert.Equal(t, DefaultSchemeTTL, tr.schemeTTL)
}

// schemeOnly is a SchemeSigner that is not an AcceptSigner.
type schemeOnly struct{ s *httpsig.Signer }

func (o schemeOnly) SignRequest(r *http.Request, body []byte) error { return o.s.SignRequest(r, body) }
func (o schemeOnly) SignRequestScheme(r *http.Request, body []byte, scheme string) error {
	return o.s.SignRequestScheme(r, body, scheme)
}

func TestSignRememberedAcceptWithoutAcceptSigner(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	hs, err := httpsig.NewSigner("k", key, nil)
	require.NoError(t, err)
	tr := NewHTTPTransport(nil)
	req, err := http.NewRequest(http.MethodGet, "https://remote.example/x", nil)
	require.NoError(t, err)
	// A memory shared with a transport whose signer honoured an
	// Accept-Signature: this signer cannot, and signs RFC 9421 instead.
	k, err := tr.sign(req, nil, schemeOnly{hs}, knock{scheme: httpsig.SchemeRFC9421, accept: `sig1=("@method")`}, httpsig.SchemeRFC9421)
	require.NoError(t, err)
	assert.Equal(t, knock{scheme: httpsig.SchemeRFC9421}, k)
	assert.NotEmpty(t, req.Header.Get("Signature-Input"))
}
