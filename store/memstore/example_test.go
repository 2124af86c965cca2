package memstore_test

import (
	"context"
	"fmt"

	"github.com/slothpub/slothpub/store/memstore"
)

func Example() {
	ctx := context.Background()
	s := memstore.New()
	const followers = "https://example.com/users/alice/followers"
	for _, f := range []string{"https://a.example/users/x", "https://b.example/users/y", "https://c.example/users/z"} {
		if err := s.AddItem(ctx, followers, f); err != nil {
			fmt.Println(err)
			return
		}
	}
	page, err := s.Items(ctx, followers, "", 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(page.Items)
	page, _ = s.Items(ctx, followers, page.Next, 2)
	fmt.Println(page.Items, page.Next == "")
	// Output:
	// [https://c.example/users/z https://b.example/users/y]
	// [https://a.example/users/x] true
}
