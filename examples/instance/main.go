// Command instance is slothpub's reference server: a small, complete
// ActivityPub instance on the embedded SQLite store.
//
//	instance serve --addr :8080 --host social.example --data ./data --user alice
//
// Every flag has an environment variable (SLOTHPUB_ADDR, SLOTHPUB_HOST,
// SLOTHPUB_PROTOCOL, SLOTHPUB_DATA, SLOTHPUB_DB, SLOTHPUB_DB_SCHEMA, SLOTHPUB_USER,
// SLOTHPUB_ALLOW_PRIVATE, SLOTHPUB_LOG_LEVEL); a flag given on the command
// line wins.
//
// The state lives in SQLite, in --data, unless --db names a PostgreSQL
// database (postgres://user:password@host/dbname): then several server
// processes may share it, each taking part of the work.
//
// On SIGTERM or SIGINT the server stops taking requests, lets the jobs in
// flight finish (or, after --drain, puts them back for the next start or
// another process) and exits: nothing accepted is lost.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/inbox"
	"github.com/slothpub/slothpub/outbox"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/pgstore"
	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/slothpub/slothpub/store/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "instance:", err)
		}
		os.Exit(2)
	}
}

const usage = `Usage: instance serve [flags]

Runs the slothpub reference server: a small ActivityPub instance whose data
lives in an SQLite file in the data directory.

Flags (each also read from the environment variable in brackets):
`

// config is what serve needs, from flags and environment.
type config struct {
	addr         string
	host         string
	protocol     string
	data         string
	db           string
	dbSchema     string
	sqliteSync   sqlitestore.Sync
	drain        time.Duration
	lease        time.Duration
	retention    time.Duration
	forgetSent   bool
	workers      int
	user         string
	allowPrivate bool
	logLevel     string
}

func parseFlags(args []string, getenv func(string) string, out io.Writer) (*config, error) {
	if len(args) == 0 || args[0] != "serve" {
		fmt.Fprint(out, usage)
		return nil, errors.New(`expected the "serve" command`)
	}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	allowDefault, _ := strconv.ParseBool(env("SLOTHPUB_ALLOW_PRIVATE", "false"))
	var c config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", env("SLOTHPUB_ADDR", "127.0.0.1:8080"), "listen `address` [SLOTHPUB_ADDR]")
	fs.StringVar(&c.host, "host", env("SLOTHPUB_HOST", ""), "public `host` name of the instance, with a port if not the default one, e.g. social.example or 127.0.0.1:8080; it is part of every actor's id and cannot change later (default: the --addr) [SLOTHPUB_HOST]")
	fs.StringVar(&c.protocol, "protocol", env("SLOTHPUB_PROTOCOL", "https"), "public `scheme`: https, or http for local testing only [SLOTHPUB_PROTOCOL]")
	fs.StringVar(&c.data, "data", env("SLOTHPUB_DATA", "data"), "data `directory`; the SQLite database is slothpub.db inside it [SLOTHPUB_DATA]")
	fs.StringVar(&c.db, "db", env("SLOTHPUB_DB", ""), "PostgreSQL database `URL` (postgres://...) to keep the state in instead of SQLite in --data; several processes may share it [SLOTHPUB_DB]")
	fs.StringVar(&c.dbSchema, "db-schema", env("SLOTHPUB_DB_SCHEMA", ""), "PostgreSQL `schema` that holds the state with --db, created if missing; several instances may share a database under different schemas (default slothpub) [SLOTHPUB_DB_SCHEMA]")
	fs.TextVar(&c.sqliteSync, "sqlite-sync", sqlitestore.SyncFull, "SQLite commit `mode`: full (every accepted activity survives a power loss) or normal (GoToSocial's default: fewer fsyncs, faster; the last commits may be lost to a power loss or an operating-system crash, never to the process being killed) [SLOTHPUB_SQLITE_SYNC]")
	fs.DurationVar(&c.drain, "drain", 20*time.Second, "how long a shutdown waits for jobs in flight before it puts them back")
	fs.DurationVar(&c.lease, "lease", 0, "how long a claimed job stays with this process between renewals: the jobs of a process that dies (killed, crashed) are taken again, by the next start or another process, this long after (default 1m; at least 1s)")
	fs.DurationVar(&c.retention, "job-retention", worker.DefaultRetention, "how long finished jobs (processed activities, deliveries) are kept with their outcome for the delivery status before they are deleted; 0 keeps them")
	fs.BoolVar(&c.forgetSent, "forget-sent", false, "delete each delivery's job once the inbox accepted it instead of keeping it for --job-retention: the database does not grow by a row per delivery; the delivery status then says sent without the attempts (failures are kept either way)")
	fs.IntVar(&c.workers, "workers", 16, "jobs (inbox processing, fan-outs, deliveries) run at once")
	fs.StringVar(&c.user, "user", env("SLOTHPUB_USER", ""), "create this local `user` if absent [SLOTHPUB_USER]")
	fs.BoolVar(&c.allowPrivate, "allow-private", allowDefault, "allow fetching and delivering to loopback and private addresses; for local testing only [SLOTHPUB_ALLOW_PRIVATE]")
	fs.StringVar(&c.logLevel, "log-level", env("SLOTHPUB_LOG_LEVEL", "info"), "log `level`: debug, info, warn or error [SLOTHPUB_LOG_LEVEL]")
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
	}
	if v := getenv("SLOTHPUB_SQLITE_SYNC"); v != "" {
		if err := c.sqliteSync.UnmarshalText([]byte(v)); err != nil {
			return nil, fmt.Errorf("SLOTHPUB_SQLITE_SYNC: %w", err)
		}
	}
	if err := fs.Parse(args[1:]); err != nil {
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
	if c.lease != 0 && c.lease < time.Second {
		return nil, fmt.Errorf("--lease must be at least 1s, not %v", c.lease)
	}
	if c.retention < 0 {
		return nil, fmt.Errorf("--job-retention must not be negative, not %v", c.retention)
	}
	if strings.Contains(c.host, "/") {
		return nil, fmt.Errorf("--host must be a host name (with an optional port), not %q", c.host)
	}
	return &c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	c, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	st, err := openStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()

	srv, err := newServer(ctx, st, c, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The worker runs until Shutdown, not until ctx (the signal) ends:
	// it drains after the listener has stopped taking requests.
	done := make(chan error, 1)
	go func() { done <- srv.worker.Run(context.WithoutCancel(ctx)) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "host", c.host, "protocol", c.protocol, "store", storeName(c))

	// --drain bounds the whole shutdown: the requests in progress and the
	// jobs drain at the same time, within it.
	var httpDone chan error
	var drainCtx context.Context
	var cancel context.CancelFunc
	select {
	case err = <-serveErr:
		drainCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.drain)
	case <-ctx.Done():
		log.Info("shutting down: no more requests, draining requests and jobs", "drain", c.drain)
		drainCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), c.drain)
		httpDone = make(chan error, 1)
		go func() {
			start := time.Now()
			herr := hs.Shutdown(drainCtx)
			if herr != nil {
				// Requests still in progress at the end of the drain are
				// cut off: what they had not committed was not accepted.
				log.Warn("requests still in progress at the end of the drain were cut off", "err", herr)
				herr = hs.Close()
			}
			log.Debug("http server stopped", "took", time.Since(start))
			httpDone <- herr
		}()
	}
	start := time.Now()
	if derr := srv.worker.Shutdown(drainCtx); derr != nil {
		log.Warn("jobs still running at the end of the drain were put back", "err", derr)
	}
	log.Debug("worker drained", "took", time.Since(start))
	cancel()
	if httpDone != nil {
		err = <-httpDone
	}
	if werr := <-done; werr != nil && err == nil {
		err = werr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("stopped")
	return err
}

func storeName(c *config) string {
	if c.db != "" {
		return "postgresql"
	}
	return filepath.Join(c.data, "slothpub.db") + " (sqlite-sync " + c.sqliteSync.String() + ")"
}

// openStore opens PostgreSQL when --db is given, else the SQLite file in
// --data, whose directory and files it keeps readable by the owner only.
func openStore(ctx context.Context, c *config, log *slog.Logger) (*store.DB, error) {
	if c.db != "" {
		if !strings.HasPrefix(c.db, "postgres://") && !strings.HasPrefix(c.db, "postgresql://") {
			return nil, errors.New("--db must be a postgres:// or postgresql:// URL")
		}
		drv, err := pgstore.Open(ctx, c.db, &pgstore.Options{Schema: c.dbSchema, Logger: log})
		if err != nil {
			return nil, err
		}
		return store.Open(drv, &store.Options{Logger: log}), nil
	}
	dbPath := filepath.Join(c.data, "slothpub.db")
	if err := secureData(c.data, dbPath); err != nil {
		return nil, err
	}
	// The SQLite driver group-commits concurrent units of work (one fsync
	// for many); store.DB is the portable store over it.
	drv, err := sqlitestore.OpenDriver(ctx, dbPath, &sqlitestore.Options{Logger: log, Sync: c.sqliteSync})
	if err != nil {
		return nil, err
	}
	st := store.Open(drv, &store.Options{Logger: log})
	// Opening the store creates the WAL's side files; check them too.
	if err := secureData(c.data, dbPath); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// server is the composed instance.
type server struct {
	handler http.Handler
	worker  *worker.Worker
	outbox  *outbox.Outbox
	inbox   *inbox.Handler
}

func newServer(ctx context.Context, st *store.DB, c *config, log *slog.Logger) (*server, error) {
	if err := checkOrigin(ctx, st, c, log); err != nil {
		return nil, err
	}
	actors := actor.NewDirectory(st, c.host, &actor.Options{Scheme: c.protocol, Logger: log})
	instanceActor, err := actors.Instance(ctx)
	if err != nil {
		return nil, err
	}
	if c.user != "" {
		if _, err := actors.Get(ctx, c.user); errors.Is(err, store.ErrNotFound) {
			if _, err := actors.Create(ctx, c.user); err != nil {
				return nil, fmt.Errorf("creating user %q: %w", c.user, err)
			}
			log.Info("created user", "user", c.user, "actor", actors.ActorIRI(c.user).String())
		} else if err != nil {
			return nil, err
		}
	}
	retention := c.retention
	if retention == 0 {
		retention = -1 // keep every job: worker.Options takes 0 for its default
	}
	w := worker.New(st, &worker.Options{Concurrency: c.workers, Lease: c.lease, Retention: retention, Logger: log})
	tr := ap.NewHTTPTransport(&ap.HTTPTransportOptions{AllowPrivate: c.allowPrivate, Logger: log})
	res := deref.New(st, tr, instanceActor.Signer(), &deref.Options{Logger: log, LocalHost: c.host, WebFingerScheme: c.protocol})
	ver := httpsig.NewVerifier(res, &httpsig.VerifierOptions{Logger: log, TargetScheme: c.protocol})
	mux := http.NewServeMux()
	ob, err := outbox.New(st, actors, tr, res, &outbox.Options{Worker: w, Logger: log, LocalInbox: mux, ForgetSent: c.forgetSent})
	if err != nil {
		return nil, err
	}
	ib, err := inbox.New(st, actors, ver, &inbox.Options{Worker: w, Sender: ob, Fetcher: res, Logger: log})
	if err != nil {
		return nil, err
	}

	actors.Register(mux)
	mux.Handle("POST /users/{name}/inbox", ib)
	mux.Handle("POST /inbox", ib)
	return &server{handler: mux, worker: w, outbox: ob, inbox: ib}, nil
}

// originKey is the store.Values key under which the server records the
// scheme and host its data belongs to, e.g. "https://social.example".
const originKey = "slothpub-instance:origin"

// instanceAccount is the store.Account that package actor keeps the
// instance actor's key under; data written before the origin was recorded
// tells its origin through that account's actor IRI.
const instanceAccount = "instance.actor"

// checkOrigin records the public scheme and host with the data on first
// start and refuses any other one later: they are part of every local
// actor's id, so a change would silently give the same keys new
// identities that no other server knows.
func checkOrigin(ctx context.Context, st store.Store, c *config, log *slog.Logger) error {
	want := c.protocol + "://" + c.host
	refuse := func(recorded string) error {
		u, _ := url.Parse(recorded)
		hint := ""
		if u != nil && u.Host != "" {
			hint = fmt.Sprintf(" (start with --protocol %s --host %s, or use a new --data directory)", u.Scheme, u.Host)
		}
		return fmt.Errorf("the data in %s belongs to %s, not %s: the protocol and host are part of every actor's id and cannot change%s",
			c.data, recorded, want, hint)
	}
	got, err := st.GetValue(ctx, originKey)
	if err == nil {
		if string(got) != want {
			return refuse(string(got))
		}
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("reading the recorded host: %w", err)
	}
	// Nothing recorded: new data, or data from before the origin was
	// recorded, whose instance actor knows where it lives.
	acct, err := st.GetAccount(ctx, instanceAccount)
	switch {
	case err == nil:
		u, perr := url.Parse(acct.ActorIRI)
		if perr != nil || u.Host == "" {
			return fmt.Errorf("the instance actor's id %q in %s is not a URL", acct.ActorIRI, c.data)
		}
		if recorded := u.Scheme + "://" + u.Host; recorded != want {
			return refuse(recorded)
		}
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("reading the instance actor: %w", err)
	}
	if err := st.PutValue(ctx, originKey, []byte(want), time.Time{}); err != nil {
		return fmt.Errorf("recording the host: %w", err)
	}
	log.Info("recorded the instance's protocol and host with its data", "origin", want)
	return nil
}

// secureData makes the data directory readable by its owner only (0700)
// and the database files, which hold the private keys, 0600: the database
// and SQLite's -wal and -shm side files, whichever exist. It creates the
// directory if needed and fixes modes left wider by an earlier version, a
// copy or the umask; when it cannot, the server does not start. Windows
// keeps its access rules in ACLs, which modes do not describe: nothing is
// checked there.
func secureData(dir, db string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("data directory %s is not a directory", dir)
	}
	if err := restrict(dir, fi, 0o700); err != nil {
		return err
	}
	for _, name := range []string{db, db + "-wal", db + "-shm"} {
		fi, err := os.Lstat(name)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("database file: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("database file %s is not a regular file (%s); it holds the private keys and must be a plain file readable by its owner only", name, fi.Mode().Type())
		}
		if err := restrict(name, fi, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// restrict sets name's permission bits to mode unless they already are.
func restrict(name string, fi os.FileInfo, mode os.FileMode) error {
	if fi.Mode().Perm() == mode {
		return nil
	}
	if err := os.Chmod(name, mode); err != nil {
		return fmt.Errorf("%s has mode %04o and cannot be made %04o, and it must be: the data holds the private keys (%w)", name, fi.Mode().Perm(), mode, err)
	}
	return nil
}
