// Command bot is a slothpub bot that answers mentions: when a post
// mentions it, it replies in the thread, mentioning the author, with the
// audience of the post (a public post gets a public reply, a
// followers-only or direct one a reply to its author only).
//
//	go run ./examples/bot --host bot.example --addr :8080 --data ./botdata --name echo
//
// Its state (the bot's keys, followers, what it received and sent, the
// job queue) lives in an SQLite file in --data. The answering is one
// inbox listener, answerMentions, written with the ap helpers only.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/outbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bot:", err)
		}
		os.Exit(2)
	}
}

// config is what the bot needs from its flags.
type config struct {
	addr         string
	host         string
	protocol     string
	data         string
	name         string
	allowPrivate bool
}

func parseFlags(args []string, out io.Writer) (*config, error) {
	var c config
	fs := flag.NewFlagSet("bot", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen `address`")
	fs.StringVar(&c.host, "host", "", "public `host` of the bot, with a port if not the default one; part of the bot's id (default: the --addr)")
	fs.StringVar(&c.protocol, "protocol", "https", "public `scheme`: https, or http for local testing only")
	fs.StringVar(&c.data, "data", "botdata", "data `directory`; the SQLite database is bot.db inside it")
	fs.StringVar(&c.name, "name", "bot", "the bot's user `name`")
	fs.BoolVar(&c.allowPrivate, "allow-private", false, "allow fetching from and delivering to loopback and private addresses; for local testing only")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.host == "" {
		c.host = c.addr
	}
	if c.protocol != "https" && c.protocol != "http" {
		return nil, fmt.Errorf("--protocol must be https or http, not %q", c.protocol)
	}
	if strings.Contains(c.host, "/") {
		return nil, fmt.Errorf("--host must be a host name (with an optional port), not %q", c.host)
	}
	return &c, nil
}

// run serves the bot until ctx ends. When ready is not nil it receives
// the listening address once the bot serves.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	db, err := sqlitestore.Open(ctx, filepath.Join(c.data, "bot.db"), &sqlitestore.Options{Logger: log})
	if err != nil {
		return err
	}
	defer db.Close()
	b, err := newBot(ctx, db, c, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: b.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	jobs := make(chan error, 1)
	go func() { jobs <- b.worker.Run(context.WithoutCancel(ctx)) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("serving", "actor", b.me.IRI().String(), "addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err = <-served:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err = srv.Shutdown(shutdown)
		cancel()
	}
	// Jobs still running after the drain go back to the queue, for the
	// next start.
	drain, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	if derr := b.worker.Shutdown(drain); derr != nil {
		log.Warn("jobs put back for the next start", "err", derr)
	}
	cancel()
	if werr := <-jobs; werr != nil && err == nil {
		err = werr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// bot is the composed server.
type bot struct {
	me      *actor.Actor
	handler http.Handler
	worker  *worker.Worker // run it (Run) for the bot to answer
}

// newBot composes the bot's server over db: the bot's actor (created on
// first start), the instance actor that signs fetches, resolver,
// signature verifier, inbox, outbox, job worker and the routes.
func newBot(ctx context.Context, db *store.DB, c *config, log *slog.Logger) (*bot, error) {
	actors := actor.NewDirectory(db, c.host, &actor.Options{Scheme: c.protocol, Logger: log})
	me, err := actors.Get(ctx, c.name)
	if errors.Is(err, store.ErrNotFound) {
		me, err = actors.Create(ctx, c.name)
	}
	if err != nil {
		return nil, fmt.Errorf("the bot's actor %q: %w", c.name, err)
	}
	instance, err := actors.Instance(ctx)
	if err != nil {
		return nil, err
	}
	w := worker.New(db, &worker.Options{Logger: log})
	tr := ap.NewHTTPTransport(&ap.HTTPTransportOptions{AllowPrivate: c.allowPrivate, Logger: log, Values: db})
	res := deref.New(db, tr, instance.Signer(), &deref.Options{Logger: log, LocalHost: c.host, WebFingerScheme: c.protocol})
	mux := http.NewServeMux()
	out, err := outbox.New(db, actors, tr, res, &outbox.Options{Worker: w, Logger: log, LocalInbox: mux})
	if err != nil {
		return nil, err
	}
	ver := httpsig.NewVerifier(res, &httpsig.VerifierOptions{Logger: log, TargetScheme: c.protocol})
	in, err := inbox.New(db, actors, ver, &inbox.Options{Worker: w, Sender: out, Fetcher: res, Logger: log})
	if err != nil {
		return nil, err
	}
	in.On("Create", answerMentions(me, out, res, log))

	actors.Register(mux) // actor, WebFinger, NodeInfo, collections, posts
	mux.Handle("POST /users/{name}/inbox", in)
	mux.Handle("POST /inbox", in)
	return &bot{me: me, handler: mux, worker: w}, nil
}

// answerMentions returns the Create listener that answers the posts
// mentioning me. Each reply's id is derived from the post's, so that the
// listener, which runs at least once per activity, answers a post once:
// posting a reply that exists fails with store.ErrExists.
func answerMentions(me *actor.Actor, out *outbox.Outbox, res *deref.Resolver, log *slog.Logger) inbox.Listener {
	return func(ctx context.Context, a *inbox.Activity) error {
		ids, posts := a.Doc.ObjectRefs()
		for i, id := range ids {
			post := posts[i]
			if post == nil {
				// Sent by reference (or by a server that cannot vouch
				// for it): the inbox fetched and stored it.
				o, err := res.Object(ctx, id)
				if err != nil {
					return err
				}
				if post, err = ap.Decode(o.Data); err != nil {
					continue
				}
			}
			if err := answer(ctx, me, out, res, log, post); err != nil {
				return err
			}
		}
		return nil
	}
}

// answer replies to post if it mentions me.
func answer(ctx context.Context, me *actor.Actor, out *outbox.Outbox, res *deref.Resolver, log *slog.Logger, post *ap.Doc) error {
	authors := post.AttributedTo()
	if !post.Mentioned(me.IRI()) || len(authors) == 0 || post.ID() == nil {
		return nil
	}
	author := authors[0]
	if author.String() == me.IRI().String() {
		return nil // never answer itself
	}
	who, err := res.Actor(ctx, author)
	if err != nil {
		return err // tried again later, with backoff
	}
	if who.Type == "Service" || who.Type == "Application" {
		return nil // bots (and servers) get no answer: two bots would talk forever
	}
	mention := ap.Mention{Href: author}
	if h, err := res.Handle(ctx, author); err == nil {
		mention.Name = "@" + h
	} else {
		log.WarnContext(ctx, "bot: no handle, guessing it from the IRI", "author", author.String(), "err", err)
	}
	parent, err := post.Vocab(ctx)
	if err != nil {
		return nil // a post the vocabulary cannot read gets no answer
	}
	content := "<p>Hello " + ap.MentionHTML(mention) + ", you said: " + html.EscapeString(excerpt(post.Content())) + "</p>"
	replyID, createID := replyIRIs(me, post.ID())
	reply := ap.NewReply(replyID, me.IRI(), parent, content,
		&ap.ReplyOptions{Mentions: []ap.Mention{mention}, Followers: me.Followers()})
	_, err = out.Post(ctx, me, ap.NewCreate(createID, me.IRI(), reply))
	if errors.Is(err, store.ErrExists) {
		log.DebugContext(ctx, "bot: answered already", "post", post.ID().String())
		return nil
	}
	return err
}

// replyIRIs returns the ids of the reply to post and of its Create, the
// same on every call.
func replyIRIs(me *actor.Actor, post *url.URL) (reply, create *url.URL) {
	sum := sha256.Sum256([]byte(post.String()))
	name := hex.EncodeToString(sum[:16])
	return me.IRI().JoinPath("statuses", name), me.IRI().JoinPath("activities", name)
}

// maxExcerpt caps the quoted text, in characters.
const maxExcerpt = 120

// excerpt is the plain text of an HTML post without the mentions it
// starts with, on one line, cut at maxExcerpt characters.
func excerpt(content string) string {
	words := strings.Fields(ap.PlainText(content))
	for len(words) > 0 && strings.HasPrefix(words[0], "@") {
		words = words[1:]
	}
	s := strings.Join(words, " ")
	if utf8.RuneCountInString(s) > maxExcerpt {
		s = string([]rune(s)[:maxExcerpt-1]) + "…"
	}
	return s
}
