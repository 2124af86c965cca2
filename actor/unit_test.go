package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/memstore"
)

// keylessDriver fails every PutKey, as a store that breaks halfway through
// creating an actor would.
type keylessDriver struct{ store.Driver }

type keylessTx struct{ store.DriverTx }

var errKeyWrite = errors.New("disk full")

func (keylessTx) PutKey(context.Context, *store.Key) error { return errKeyWrite }

func (d keylessDriver) Update(ctx context.Context, fn func(store.DriverTx) error) error {
	return d.Driver.Update(ctx, func(tx store.DriverTx) error { return fn(keylessTx{tx}) })
}

// Creating an actor is one unit of work: when its key cannot be stored,
// neither its account nor its document is, and the username stays free.
func TestCreateIsOneUnit(t *testing.T) {
	ctx := context.Background()
	drv := memstore.NewDriver()
	d := actor.NewDirectory(store.Open(keylessDriver{drv}, nil), "local.example", nil)
	_, err := d.Create(ctx, "alice")
	require.ErrorIs(t, err, errKeyWrite)

	st := store.Open(drv, nil)
	_, err = st.GetAccount(ctx, "alice")
	assert.ErrorIs(t, err, store.ErrNotFound, "no account without its key")
	_, err = st.GetObject(ctx, d.ActorIRI("alice").String())
	assert.ErrorIs(t, err, store.ErrNotFound, "no document without its key")
	a, err := actor.NewDirectory(st, "local.example", nil).Create(ctx, "alice")
	require.NoError(t, err, "the username is still free")
	assert.Equal(t, "alice", a.Username)
}
