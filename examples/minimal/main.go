// Command minimal is the smallest federating slothpub actor: one user who
// accepts every follow and greets each new follower with a public Note.
//
//	go run ./examples/minimal --host social.example --addr :8080
//
// Data is kept in memory and lost on exit; examples/instance is the
// complete server.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/outbox"
	"github.com/slothpub/slothpub/store/memstore"
	"github.com/slothpub/slothpub/store/worker"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	host := flag.String("host", "127.0.0.1:8080", "public host (with port if not the default)")
	scheme := flag.String("protocol", "https", "public scheme: https, or http for local testing")
	name := flag.String("name", "greeter", "the actor's username")
	allowPrivate := flag.Bool("allow-private", false, "allow loopback and private addresses (local testing only)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *addr, *host, *scheme, *name, *allowPrivate); err != nil {
		slog.Error("minimal", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, host, scheme, name string, allowPrivate bool) error {
	st := memstore.New()
	actors := actor.NewDirectory(st, host, &actor.Options{Scheme: scheme})
	me, err := actors.Create(ctx, name)
	if err != nil {
		return err
	}
	instance, err := actors.Instance(ctx) // signs our GETs
	if err != nil {
		return err
	}

	tr := ap.NewHTTPTransport(&ap.HTTPTransportOptions{AllowPrivate: allowPrivate})
	resolver := deref.New(st, tr, instance.Signer(), &deref.Options{LocalHost: host})
	mux := http.NewServeMux()
	jobs := worker.New(st, nil)                                                                      // runs inbox processing, fan-outs and deliveries
	out, err := outbox.New(st, actors, tr, resolver, &outbox.Options{Worker: jobs, LocalInbox: mux}) // local followers in process
	if err != nil {
		return err
	}
	in, err := inbox.New(st, actors, httpsig.NewVerifier(resolver, nil), &inbox.Options{Worker: jobs, Sender: out, Fetcher: resolver})
	if err != nil {
		return err
	}

	// After the default side effects (the follower is recorded and an
	// Accept is on its way), greet the new follower.
	in.On("Follow", func(ctx context.Context, a *inbox.Activity) error {
		note := ap.NewNote(nil, me.IRI(), fmt.Sprintf("<p>Hello, %s! Thanks for following.</p>", a.Actor), time.Now())
		ap.SetTo(note, ap.PublicURL())
		ap.SetCc(note, a.Actor, me.Followers())
		create := ap.NewCreate(nil, me.IRI(), note)
		ap.SetTo(create, ap.PublicURL())
		ap.SetCc(create, a.Actor, me.Followers())
		_, err := out.Post(ctx, me, create)
		return err
	})

	actors.Register(mux) // actor, WebFinger, NodeInfo, collections
	mux.Handle("POST /users/{name}/inbox", in)
	mux.Handle("POST /inbox", in)

	go jobs.Run(ctx) // job workers; they stop with ctx
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	slog.Info("serving", "actor", me.IRI().String(), "addr", addr)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}
