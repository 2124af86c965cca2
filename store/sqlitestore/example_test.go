package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
)

func Example() {
	dir, err := os.MkdirTemp("", "slothpub-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	// The store: store.DB over the group-committing driver.
	s, err := sqlitestore.Open(ctx, filepath.Join(dir, "slothpub.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	create := &store.Object{
		IRI:  "https://remote.example/activities/1",
		Type: "Create",
		Data: []byte(`{"id":"https://remote.example/activities/1","type":"Create"}`),
	}
	fmt.Println(s.CreateObject(ctx, create))
	// A second delivery of the same activity is recognised.
	fmt.Println(s.CreateObject(ctx, create))

	// Several writes in one unit of work: all commit, with one fsync, or
	// none does.
	const outbox = "https://example.com/users/alice/outbox"
	err = s.Update(ctx, func(tx *store.Tx) error {
		if err := tx.AddItem(ctx, outbox, create.IRI); err != nil {
			return err
		}
		_, _, err := tx.Enqueue(ctx, "outbox.deliver", []byte(`{"activity":"https://remote.example/activities/1"}`), nil)
		return err
	})
	fmt.Println(err)
	fmt.Println(s.CountItems(ctx, outbox))
	// Output:
	// <nil>
	// sqlitestore: object "https://remote.example/activities/1": store: already exists
	// <nil>
	// 1 <nil>
}

// ExampleOpenDriver opens the driver alone and puts the portable store over
// it, as Open does; the driver's counters show the commits.
func ExampleOpenDriver() {
	dir, _ := os.MkdirTemp("", "slothpub-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	d, err := sqlitestore.OpenDriver(ctx, filepath.Join(dir, "slothpub.db"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := store.Open(d, nil)
	defer s.Close() // closes d

	fmt.Println(s.PutValue(ctx, "httpsig-scheme:remote.example", []byte("rfc9421"), time.Time{}))
	fmt.Printf("%+v\n", d.Stats())
	// Output:
	// <nil>
	// {Commits:1 Units:1 RolledBack:0}
}
