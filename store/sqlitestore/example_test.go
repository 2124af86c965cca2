package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

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
	// Output:
	// <nil>
	// sqlitestore: object "https://remote.example/activities/1": store: already exists
}
