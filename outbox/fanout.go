package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/deref"
	"github.com/slothpub/slothpub/store"
	"github.com/slothpub/slothpub/store/worker"
)

// fanout is the payload of a fan-out job: everything the audience of one
// activity is worked out from, taken when it was posted (bto and bcc
// included, which the stored activity no longer has).
type fanout struct {
	Activity   string   `json:"a"`
	From       string   `json:"from"` // username of the sender
	Recipients []string `json:"to,omitempty"`
	// Followers is set when the sender's followers collection is among
	// the recipients: it is expanded page by page.
	Followers bool `json:"f,omitempty"`
	// Record names the local objects whose reach the deliveries extend
	// (a Create's, an Update's): the fan-out adds the activity to their
	// ReachActivitiesCollection when it is done. Extend names the local
	// objects whose reach the activity also goes to (an Update's or a
	// Delete's).
	Record []string `json:"rec,omitempty"`
	Extend []string `json:"ext,omitempty"`
	// Order is the key that orders deliveries to one inbox: deliveries
	// with the same key reach an inbox in the order they were posted
	// (Create, Update, Delete of one note; a Like and its Undo).
	Order string `json:"ord,omitempty"`
	// Prev is the activities posted before this one with the same order
	// key, newest first (at most maxOrderChain): a delivery to an inbox
	// waits for their deliveries to that inbox.
	Prev []string `json:"prev,omitempty"`
}

func newFanout(o *Outbox, from *actor.Actor, activity vocab.Type, recipients []string) fanout {
	f := fanout{Activity: ap.ID(activity).String(), From: from.Username, Order: orderKey(activity)}
	followers := from.Followers().String()
	for _, r := range recipients {
		if r == followers {
			f.Followers = true
			continue
		}
		if ap.IsPublic(r) || r == from.IRI().String() {
			continue
		}
		f.Recipients = append(f.Recipients, r)
	}
	for _, obj := range ap.Objects(activity) {
		if !o.actors.IsLocal(obj) {
			continue
		}
		switch activity.GetTypeName() {
		case "Create":
			f.Record = append(f.Record, obj.String())
		case "Update":
			f.Record = append(f.Record, obj.String())
			f.Extend = append(f.Extend, obj.String())
		case "Delete":
			f.Extend = append(f.Extend, obj.String())
		}
	}
	return f
}

// orderKey is what the deliveries of activity are ordered by, per inbox:
// the object for a Create, Update or Delete, the undone activity for an
// Undo, else the activity itself (which an Undo of it follows).
func orderKey(activity vocab.Type) string {
	switch activity.GetTypeName() {
	case "Create", "Update", "Delete", "Undo":
		if objs := ap.Objects(activity); len(objs) > 0 {
			return objs[0].String()
		}
	}
	return ap.ID(activity).String()
}

// Fan-out stages, in order: recipients, collections, followers, reach.
// The numbers are stored in fan-out progress values: a new stage gets a
// new number.
const (
	stageRecipients  = 0 // the named recipients
	stageFollowers   = 1 // the sender's followers, page by page
	stageReach       = 2 // for Update and Delete: where the object went before
	stageDone        = 3
	stageCollections = 4 // the members of the remote collections among the recipients, page by page
)

// maxCollectionPages bounds the pages of one remote collection a fan-out
// reads.
const maxCollectionPages = 100

// fanoutProgress is how far a fan-out got, recorded with the deliveries
// of each step, so that a fan-out resumes after a crash, a retry or a
// pause where it stopped.
type fanoutProgress struct {
	Stage  int    `json:"s"`
	Cursor string `json:"c,omitempty"` // page cursor (MaxID) in the stage's collection
	Extend int    `json:"e,omitempty"` // index in fanout.Extend during stageReach
	// During stageReach, the activity of the object's reach whose
	// deliveries are read: its id and its cursor in the object's
	// ReachActivitiesCollection; none for the ReachCollection of
	// earlier versions, read first.
	ActIRI string `json:"ai,omitempty"`
	Act    string `json:"ac,omitempty"`
	// During stageCollections: the remote collections among the
	// recipients, the one being read (its next page in Cursor), and how
	// many pages and members of it were read.
	Colls []string `json:"cl,omitempty"`
	Coll  int      `json:"ci,omitempty"`
	Pages int      `json:"cp,omitempty"`
	Items int      `json:"cn,omitempty"`
	// Seen: the pages of that collection read before this one (at most
	// maxCollectionPages), so that pages linking back are not read again.
	Seen []string `json:"cs,omitempty"`
}

func fanoutProgressKey(activity string) string { return "slothpub:fanout-progress:" + activity }

// fanoutJob expands the audience of one activity step by step, each step
// one unit of work that enqueues its deliveries and records the progress.
func (o *Outbox) fanoutJob(ctx context.Context, j *store.Job) error {
	var f fanout
	if err := json.Unmarshal(j.Payload, &f); err != nil || f.Activity == "" {
		return worker.Discard(fmt.Errorf("outbox: unreadable fan-out payload: %v", err))
	}
	from, err := o.actors.Get(ctx, f.From)
	if errors.Is(err, store.ErrNotFound) {
		return worker.Discard(err)
	} else if err != nil {
		return err
	}
	var p fanoutProgress
	if raw, err := o.db.GetValue(ctx, fanoutProgressKey(f.Activity)); err == nil {
		if err := json.Unmarshal(raw, &p); err != nil {
			p = fanoutProgress{} // start over: enqueueing is idempotent
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	for p.Stage != stageDone {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Back-pressure on the deliveries a worker would take now: those
		// waiting for a retry later (a host down) do not hold it up.
		queued, err := o.db.CountJobs(ctx, store.JobQuery{Kinds: []string{DeliverKind}, DueBy: o.opts.Clock()})
		if err != nil {
			return err
		}
		if queued >= o.opts.MaxQueued {
			return worker.Snooze(time.Second) // back-pressure: resumes from p
		}
		if p, err = o.fanoutStep(ctx, from, &f, p); err != nil {
			return err
		}
	}
	if err := o.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteValue(ctx, fanoutProgressKey(f.Activity)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		// The deliveries are all queued: they are now part of the reach
		// of the objects, for the fan-outs of later Updates and Deletes
		// (which waited for this one to finish).
		for _, obj := range f.Record {
			if err := ignoreExists(tx.AddItem(ctx, store.ReachActivitiesCollection(obj), f.Activity)); err != nil {
				return err
			}
		}
		return tx.Complete(ctx, j)
	}); err != nil {
		return err
	}
	return worker.ErrFinished
}

// nextReachSource returns the progress that reads the next source of the
// reach of f.Extend[p.Extend] after p's: the deliveries of the next
// activity about the object, oldest first, else the next object's reach.
func (o *Outbox) nextReachSource(ctx context.Context, f *fanout, p fanoutProgress) (fanoutProgress, error) {
	after := p.Act
	if after == "" {
		after = "0"
	}
	for {
		page, err := o.db.Page(ctx, store.ReachActivitiesCollection(f.Extend[p.Extend]), store.PageQuery{MinID: after, Limit: 1})
		if err != nil {
			return p, err
		}
		if len(page.Items) == 0 {
			return fanoutProgress{Stage: stageReach, Extend: p.Extend + 1}, nil
		}
		it := page.Items[0]
		after = store.FormatSeqCursor(it.Seq)
		if it.Value != f.Activity {
			return fanoutProgress{Stage: stageReach, Extend: p.Extend, ActIRI: it.Value, Act: after}, nil
		}
	}
}

// target is one inbox a step delivers to, with the actor it was resolved
// from ("" for an inbox taken from a reach collection).
type target struct {
	inbox string
	actor string
	// personal: inbox is actor's own inbox, not a shared one (nor one
	// the fan-out cannot tell: an inbox of the reach). Only a personal
	// inbox that answers 410 is marked gone.
	personal bool
}

// fanoutStep runs one step of stage p.Stage: it reads one batch of the
// audience, resolves it to inboxes, and in one unit enqueues their
// deliveries and records the next progress, which it returns.
func (o *Outbox) fanoutStep(ctx context.Context, from *actor.Actor, f *fanout, p fanoutProgress) (fanoutProgress, error) {
	next := p
	var actors []string
	var direct []string // inboxes, already resolved
	switch p.Stage {
	case stageRecipients:
		actors = f.Recipients
		next = afterRecipients(f)
	case stageCollections:
		var err error
		if actors, next, err = o.collectionStep(ctx, f, p); err != nil {
			return p, err
		}
	case stageFollowers:
		page, err := o.db.Page(ctx, from.Followers().String(), store.PageQuery{MaxID: p.Cursor, Limit: o.opts.FanoutPage})
		if err != nil {
			return p, err
		}
		for _, it := range page.Items {
			actors = append(actors, it.Value)
		}
		if len(page.Items) < o.opts.FanoutPage {
			next = fanoutProgress{Stage: stageReach}
		} else {
			next.Cursor = store.FormatSeqCursor(page.Items[len(page.Items)-1].Seq)
		}
	case stageReach:
		if p.Extend >= len(f.Extend) {
			return fanoutProgress{Stage: stageDone}, nil
		}
		coll := store.ReachCollection(f.Extend[p.Extend])
		if p.ActIRI != "" {
			coll = store.DeliveriesCollection(p.ActIRI)
		}
		page, err := o.db.Page(ctx, coll, store.PageQuery{MaxID: p.Cursor, Limit: o.opts.FanoutPage})
		if err != nil {
			return p, err
		}
		for _, it := range page.Items {
			direct = append(direct, it.Value)
		}
		if len(page.Items) < o.opts.FanoutPage {
			if next, err = o.nextReachSource(ctx, f, p); err != nil {
				return p, err
			}
		} else {
			next.Cursor = store.FormatSeqCursor(page.Items[len(page.Items)-1].Seq)
		}
	default: // a stage of a later version: nothing this one can do
		return fanoutProgress{Stage: stageDone}, nil
	}
	targets, learned, colls, err := o.resolve(ctx, from, actors)
	if err != nil {
		return p, err
	}
	if len(colls) > 0 {
		if p.Stage == stageRecipients {
			next = fanoutProgress{Stage: stageCollections, Colls: colls}
		} else {
			o.log.WarnContext(ctx, "outbox: skipping recipients that are not actors (collections in a collection are not expanded)", "recipients", colls)
		}
	}
	for _, in := range direct {
		targets = append(targets, target{inbox: in})
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return p, err
	}
	// The payload of every delivery of the step, for a shared inbox and
	// for a personal one: encoded once, not once a delivery.
	var payloads [2][]byte
	for i := range payloads {
		if payloads[i], err = json.Marshal(delivery{From: f.From, Personal: i == 1, Prev: f.Prev}); err != nil {
			return p, err
		}
	}
	enqueued := 0
	err = o.db.Update(ctx, func(tx *store.Tx) error {
		enqueued = 0
		blocked := map[string]bool{} // hosts of this step: domain blocked or not
		gone, err := o.memo.goneSet(ctx, tx)
		if err != nil {
			return err
		}
		for _, l := range learned {
			if err := tx.PutValue(ctx, inboxCacheKey(l.actor), cachedInbox(l), o.opts.Clock().Add(inboxCacheTTL)); err != nil {
				return err
			}
		}
		for _, t := range targets {
			payload := payloads[0]
			if t.personal {
				payload = payloads[1]
			}
			ok, err := o.enqueueDelivery(ctx, tx, f, t, payload, blocked, gone)
			if err != nil {
				return err
			}
			if ok {
				enqueued++
			}
		}
		return tx.PutValue(ctx, fanoutProgressKey(f.Activity), raw, time.Time{})
	})
	if err != nil {
		return p, err
	}
	now := o.opts.Clock()
	for _, l := range learned {
		o.memo.putInbox(l.actor, l.inbox, l.personal, now)
	}
	if enqueued > 0 {
		o.opts.Worker.Notify()
	}
	return next, nil
}

// delivery is the payload of a delivery job. Activity and Inbox are not
// written: the job's unique key (deliveryKey) holds them, and a payload
// per delivery is kept as long as the job is; payloads of earlier
// versions, which have them, are read as they are.
type delivery struct {
	Activity string `json:"a,omitempty"`
	From     string `json:"from"`
	Inbox    string `json:"in,omitempty"`
	// Prev is fanout.Prev: this delivery waits until the deliveries of
	// those activities to the same inbox are done.
	Prev []string `json:"prev,omitempty"`
	// After is the id of the delivery job to the same inbox with the same
	// order key enqueued before this one, as versions before Prev ordered
	// deliveries: this one waits until it is done.
	After int64 `json:"after,omitempty"`
	// Personal: Inbox is one actor's own inbox (see target.personal).
	Personal bool `json:"personal,omitempty"`
}

// orderHorizon is how long the order chain of an order key is
// remembered: past it, the deliveries before are long done or dead.
const orderHorizon = 7 * 24 * time.Hour

// enqueueDelivery enqueues the delivery of the fan-out's activity to t, in
// tx, unless it is queued already (the same shared inbox reached through
// several followers), the inbox is gone, or its host or actor is blocked.
// It records the delivery for its status (the activity's
// DeliveriesCollection, which is also the reach it gives its objects).
// payload is the job's (see delivery). ok reports whether a job was
// enqueued. blocked remembers, for the unit, which hosts are domain
// blocked: a step reads each host's block once, not once per inbox.
func (o *Outbox) enqueueDelivery(ctx context.Context, tx *store.Tx, f *fanout, t target, payload []byte, blocked map[string]bool, gone map[string]struct{}) (ok bool, err error) {
	u, err := url.Parse(t.inbox)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		o.log.WarnContext(ctx, "outbox: skipping inbox that is not an http(s) URL", "inbox", t.inbox)
		return false, nil
	}
	host := strings.ToLower(u.Host)
	isBlocked, known := blocked[host]
	if !known {
		if isBlocked, err = domainBlocked(ctx, tx, host); err != nil {
			return false, err
		}
		blocked[host] = isBlocked
	}
	if isBlocked {
		return false, nil
	}
	if _, gone := gone[t.inbox]; gone {
		return false, nil
	}
	// The activity's deliveries collection, written with each delivery
	// job, says whether this one was ever queued: a job sent and
	// forgotten (Options.ForgetSent), or pruned, is not queued again.
	if err := tx.AddItem(ctx, store.DeliveriesCollection(f.Activity), t.inbox); errors.Is(err, store.ErrExists) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	_, inserted, err := tx.Enqueue(ctx, DeliverKind, payload, &store.EnqueueOptions{UniqueKey: deliveryKey(f.Activity, t.inbox)})
	return inserted, err
}

// domainBlocked reports whether host (lower case, with its port if any) is
// blocked: the host with its port, its name, or a domain it is under
// (a block of blocked.example covers sub.blocked.example), as Mastodon's
// domain blocks do.
func domainBlocked(ctx context.Context, tx *store.Tx, host string) (bool, error) {
	names := []string{host}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = strings.Trim(h, "[]")
		names = append(names, name)
	}
	if net.ParseIP(name) == nil {
		for i := strings.IndexByte(name, '.'); i >= 0 && i < len(name)-1; i = strings.IndexByte(name, '.') {
			name = name[i+1:]
			if strings.IndexByte(name, '.') < 0 {
				break // a top-level domain alone is never matched
			}
			names = append(names, name)
		}
	}
	for _, n := range names {
		if ok, err := tx.HasItem(ctx, store.DomainBlocksCollection, n); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func ignoreExists(err error) error {
	if errors.Is(err, store.ErrExists) {
		return nil
	}
	return err
}

func deliveryKey(activity, inbox string) string { return "deliver:" + activity + " " + inbox }

// fromDeliveryKey is the activity and the inbox of a deliveryKey. The
// activity, a local IRI as url.URL writes it, has no space.
func fromDeliveryKey(key string) (activity, inbox string, ok bool) {
	rest, ok := strings.CutPrefix(key, "deliver:")
	if !ok {
		return "", "", false
	}
	activity, inbox, ok = strings.Cut(rest, " ")
	return activity, inbox, ok && activity != "" && inbox != ""
}

// inboxCacheTTL is how long an actor's resolved inbox is trusted.
const inboxCacheTTL = 24 * time.Hour

// inboxCacheKey names the value caching where actor receives deliveries:
// its shared inbox, else its inbox. The fan-out reads it instead of
// parsing the actor's document again for each activity. The value is
// "shared " or "personal " and the inbox (see cachedInbox).
func inboxCacheKey(actor string) string { return "slothpub:inbox-of:" + actor }

// cachedInbox is the inbox cache's value for t: "shared " or "personal ",
// then the inbox, written short when it extends the actor's IRI ("~" and
// the rest: "~/inbox" for Mastodon's personal inboxes) or has the actor's
// origin (the path alone: "/inbox" for a shared inbox), as most do; an
// absolute IRI starts with neither "~" nor "/". A cache of one value per
// follower stays small.
func cachedInbox(t target) []byte {
	kind := "shared "
	if t.personal {
		kind = "personal "
	}
	in := t.inbox
	if rest, ok := strings.CutPrefix(in, t.actor); ok && t.actor != "" && strings.HasPrefix(rest, "/") {
		in = "~" + rest
	} else if o := origin(t.actor); o != "" {
		if rest, ok := strings.CutPrefix(in, o); ok && strings.HasPrefix(rest, "/") {
			in = rest
		}
	}
	return []byte(kind + in)
}

// origin is the scheme://host[:port] prefix of an absolute IRI, or "".
func origin(iri string) string {
	scheme, rest, ok := strings.Cut(iri, "://")
	if !ok || scheme == "" {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if rest == "" {
		return ""
	}
	return scheme + "://" + rest
}

// fromCache reads actor's inbox cache value: the inbox, and whether it is
// personal. A value of an older version, the inbox alone, is not known
// to be personal; values before the short forms hold the whole inbox.
func fromCache(actor string, v []byte) (inbox string, personal bool) {
	s := string(v)
	if in, ok := strings.CutPrefix(s, "personal "); ok {
		s, personal = in, true
	} else if in, ok := strings.CutPrefix(s, "shared "); ok {
		s = in
	}
	switch {
	case strings.HasPrefix(s, "~"):
		return actor + s[1:], personal
	case strings.HasPrefix(s, "/"):
		return origin(actor) + s, personal
	}
	return s, personal
}

// resolve turns actor IRIs into delivery targets: local actors to their
// inbox, remote ones to their shared inbox, else their inbox, from the
// inbox cache or, on a miss, through the resolver within ResolveTimeout.
// The sender and the actors it blocks are left out, and so are those that
// cannot be resolved (gone, offline: logged); colls holds those that are
// not actors, when the resolver can read them as collections (else they
// are logged too); learned holds the resolutions to cache. What the store
// knows (blocks, cached inboxes) is read for the whole batch in one read
// unit, not one per actor.
func (o *Outbox) resolve(ctx context.Context, from *actor.Actor, actors []string) (targets, learned []target, colls []string, err error) {
	if len(actors) == 0 {
		return nil, nil, nil, nil
	}
	blocks := store.BlocksCollection(from.IRI().String())
	self := from.IRI().String()
	// cand is an actor to deliver to, with its cached inbox, if any.
	type cand struct {
		iri   string
		u     *url.URL
		local bool
		inbox string
		// personal: inbox (cached) is the actor's own.
		personal bool
	}
	var cands []cand
	now := o.opts.Clock()
	err = o.db.View(ctx, func(tx *store.Tx) error {
		cands = cands[:0]
		// Most actors block no one: then no actor of the batch is looked
		// up in the blocks.
		n, err := tx.CountItems(ctx, blocks)
		if err != nil {
			return err
		}
		blocksAny := n > 0
		for _, a := range actors {
			if a == self {
				continue
			}
			if blocksAny {
				if blocked, err := tx.HasItem(ctx, blocks, a); err != nil {
					return err
				} else if blocked {
					continue
				}
			}
			u, err := url.Parse(a)
			if err != nil {
				continue
			}
			c := cand{iri: a, u: u, local: o.actors.IsLocal(u)}
			if !c.local {
				var known bool
				c.inbox, c.personal, known = o.memo.inbox(a, now)
				if !known {
					if in, err := tx.GetValue(ctx, inboxCacheKey(a)); err == nil {
						c.inbox, c.personal = fromCache(a, in)
						o.memo.putInbox(a, c.inbox, c.personal, now)
					} else if !errors.Is(err, store.ErrNotFound) {
						return err
					}
				}
			}
			cands = append(cands, c)
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	var rctx context.Context
	for _, c := range cands {
		a := c.iri
		if c.local {
			la, err := o.actors.ByIRI(ctx, a)
			if err != nil {
				o.log.DebugContext(ctx, "outbox: skipping local recipient", "recipient", a, "err", err)
				continue
			}
			targets = append(targets, target{inbox: la.Inbox().String(), actor: a, personal: true})
			continue
		}
		if c.inbox != "" {
			targets = append(targets, target{inbox: c.inbox, actor: a, personal: c.personal})
			continue
		}
		if rctx == nil {
			var cancel context.CancelFunc
			rctx, cancel = context.WithTimeout(ctx, o.opts.ResolveTimeout)
			defer cancel()
			rctx = ap.WithFetchDeadline(rctx, time.Now().Add(o.opts.ResolveTimeout))
		}
		ra, err := o.resolver.Actor(rctx, c.u)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, nil, ctx.Err()
			}
			if _, reads := o.resolver.(CollectionResolver); reads && errors.Is(err, deref.ErrNotActor) {
				colls = append(colls, a) // a collection, perhaps
				continue
			}
			o.log.WarnContext(ctx, "outbox: skipping recipient", "recipient", a, "err", err)
			continue
		}
		in, personal := ra.SharedInbox, false
		if in == "" {
			in, personal = ra.Inbox, true
		}
		if in == "" {
			o.log.WarnContext(ctx, "outbox: skipping recipient without an inbox", "recipient", a)
			continue
		}
		t := target{inbox: in, actor: a, personal: personal}
		targets = append(targets, t)
		learned = append(learned, t)
	}
	return targets, learned, colls, nil
}

// afterRecipients is the stage after the named recipients (and the
// collections among them).
func afterRecipients(f *fanout) fanoutProgress {
	if f.Followers {
		return fanoutProgress{Stage: stageFollowers}
	}
	return fanoutProgress{Stage: stageReach}
}

// collectionStep reads the next page of the remote collection p is at
// and returns its members and the progress after it. A collection that
// cannot be read (not a collection, offline) is skipped, logged.
func (o *Outbox) collectionStep(ctx context.Context, f *fanout, p fanoutProgress) ([]string, fanoutProgress, error) {
	// nextColl is the progress at the collection after p's.
	nextColl := func() fanoutProgress {
		if p.Coll+1 >= len(p.Colls) {
			return afterRecipients(f)
		}
		return fanoutProgress{Stage: stageCollections, Colls: p.Colls, Coll: p.Coll + 1}
	}
	cr, ok := o.resolver.(CollectionResolver)
	if !ok || p.Coll >= len(p.Colls) {
		return nil, afterRecipients(f), nil
	}
	coll := p.Colls[p.Coll]
	pageIRI := p.Cursor
	if pageIRI == "" {
		pageIRI = coll
	}
	u, err := url.Parse(pageIRI)
	if err != nil {
		return nil, nextColl(), nil
	}
	rctx, cancel := context.WithTimeout(ctx, o.opts.ResolveTimeout)
	defer cancel()
	rctx = ap.WithFetchDeadline(rctx, time.Now().Add(o.opts.ResolveTimeout))
	page, err := cr.CollectionPage(rctx, u)
	if err != nil {
		if ctx.Err() != nil {
			return nil, p, ctx.Err()
		}
		o.log.WarnContext(ctx, "outbox: skipping recipient collection", "recipient", coll, "page", pageIRI, "err", err)
		return nil, nextColl(), nil
	}
	var members []string
	for _, it := range page.Items {
		if p.Items+len(members) >= o.opts.MaxCollectionItems {
			break
		}
		members = append(members, it.String())
	}
	next := p
	next.Pages++
	next.Items += len(members)
	if page.Next == nil || next.Pages >= maxCollectionPages || next.Items >= o.opts.MaxCollectionItems {
		if page.Next != nil {
			o.log.InfoContext(ctx, "outbox: recipient collection read up to its bound", "recipient", coll,
				"pages", next.Pages, "members", next.Items)
		}
		return members, nextColl(), nil
	}
	nextPage := page.Next.String()
	if nextPage == coll || nextPage == pageIRI || slices.Contains(p.Seen, nextPage) {
		o.log.InfoContext(ctx, "outbox: recipient collection's pages link back to one read; stopping there", "recipient", coll,
			"page", pageIRI, "next", nextPage, "pages", next.Pages)
		return members, nextColl(), nil
	}
	next.Seen = append(slices.Clip(p.Seen), pageIRI)
	next.Cursor = nextPage
	return members, next, nil
}
