package inbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"

	"github.com/slothpub/slothpub/actor"
	"github.com/slothpub/slothpub/ap"
	"github.com/slothpub/slothpub/store"
)

// localFollowersKey names the internal collection of local actors that
// follow the remote actor remote: the reverse of the local actors'
// following collections, used to fill home timelines from shared-inbox
// deliveries. It is never served.
func localFollowersKey(remote string) string { return "slothpub:local-followers:" + remote }

// followedKey names the internal collection of local actors the remote
// actor follows: the reverse of the local actors' followers collections,
// so that a deleted remote actor can be removed from all of them.
func followedKey(remote string) string { return "slothpub:followed-by:" + remote }

// FollowRequests returns the IRI under which a's pending follow requests
// (incoming Follow activity ids) are kept when Options.ManualApproval is set.
func FollowRequests(a *actor.Actor) string { return a.IRI().String() + "/follow_requests" }

// Likes and Shares name the collections recording who liked and who
// boosted a local object.
func Likes(object string) string  { return object + "/likes" }
func Shares(object string) string { return object + "/shares" }

func (h *Handler) sideEffects(ctx context.Context, tx *store.Tx, a *Activity) error {
	switch a.Type {
	case "Follow":
		return h.onFollow(ctx, tx, a)
	case "Accept", "Reject":
		return h.onAcceptReject(ctx, tx, a)
	case "Undo":
		return h.onUndo(ctx, tx, a)
	case "Create", "Update":
		return h.onCreateUpdate(ctx, tx, a)
	case "Like":
		return h.onReaction(ctx, tx, a, Likes)
	case "Announce":
		return h.onAnnounce(ctx, tx, a)
	case "Delete":
		return h.onDelete(ctx, tx, a)
	}
	return nil
}

func ignoreExists(err error) error {
	if errors.Is(err, store.ErrExists) {
		return nil
	}
	return err
}

func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// localActor returns the local actor with that IRI, or nil.
func (h *Handler) localActor(ctx context.Context, iri *url.URL) (*actor.Actor, error) {
	if !h.actors.IsLocal(iri) {
		return nil, nil
	}
	la, err := h.actors.ByIRI(ctx, iri.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return la, err
}

func (h *Handler) onFollow(ctx context.Context, tx *store.Tx, a *Activity) error {
	ids, _ := a.Doc.ObjectRefs()
	if len(ids) != 1 {
		return ap.Errorf(http.StatusBadRequest, "Follow must have exactly one object", nil)
	}
	local, err := h.localActor(ctx, ids[0])
	if err != nil || local == nil {
		return err // not one of ours: nothing to do
	}
	if h.opts.ManualApproval {
		return ignoreExists(tx.AddItem(ctx, FollowRequests(local), a.idString()))
	}
	follow, err := a.Vocab(ctx)
	if err != nil {
		return err
	}
	return h.answerFollow(ctx, tx, local, a.Actor, follow, true)
}

// answerFollow records follower as following local (when accepted) and
// sends local's Accept or Reject of follow.
func (h *Handler) answerFollow(ctx context.Context, tx *store.Tx, local *actor.Actor, follower *url.URL, follow vocab.Type, accept bool) error {
	if accept {
		if err := ignoreExists(tx.AddItem(ctx, local.Followers().String(), follower.String())); err != nil {
			return err
		}
		if err := ignoreExists(tx.AddItem(ctx, followedKey(follower.String()), local.IRI().String())); err != nil {
			return err
		}
	}
	if h.opts.Sender == nil {
		return nil
	}
	var answer vocab.Type
	if accept {
		a := ap.NewAccept(nil, local.IRI(), follow) // Mastodon expects the Follow embedded
		ap.SetTo(a, follower)
		answer = a
	} else {
		r := ap.NewReject(nil, local.IRI(), follow)
		ap.SetTo(r, follower)
		answer = r
	}
	if _, err := h.opts.Sender.PostTx(ctx, tx, local, answer); err != nil {
		return fmt.Errorf("inbox: sending %s: %w", answer.GetTypeName(), err)
	}
	return nil
}

// AnswerFollowRequest approves (accept true) or denies a follow request
// that Options.ManualApproval left pending for local: followID is the id of
// the Follow, as listed in the FollowRequests(local) collection. Approving
// adds the follower and sends an Accept; denying sends a Reject. Either way
// the request leaves the collection. A followID that is not pending for
// local is store.ErrNotFound.
func (h *Handler) AnswerFollowRequest(ctx context.Context, local *actor.Actor, followID string, accept bool) error {
	o, err := h.db.GetObject(ctx, followID)
	if err != nil {
		return err
	}
	follow, err := ap.Parse(ctx, o.Data)
	if err != nil {
		return fmt.Errorf("inbox: stored follow %s: %w", followID, err)
	}
	followers := ap.Actors(follow)
	if len(followers) != 1 {
		return fmt.Errorf("inbox: stored follow %s has %d actors", followID, len(followers))
	}
	return h.db.Update(ctx, func(tx *store.Tx) error {
		ctx := store.WithTx(ctx, tx)
		pending, err := tx.HasItem(ctx, FollowRequests(local), followID)
		if err != nil {
			return err
		}
		if !pending {
			return fmt.Errorf("inbox: follow request %s: %w", followID, store.ErrNotFound)
		}
		if err := h.answerFollow(ctx, tx, local, followers[0], follow, accept); err != nil {
			return err
		}
		return ignoreNotFound(tx.RemoveItem(ctx, FollowRequests(local), followID))
	})
}

// answeredFollows works out which of our Follows an Accept or Reject
// answers, and returns their local followers. It answers a Follow only when
// a local actor sent that Follow to the answering actor and it is still
// ours to answer (pending, or accepted already, which a repeated Accept or
// a later Reject refers to): matched by the id of the stored Follow, or, for
// servers that answer with a fresh or missing id, by the pair of actors of
// a pending Follow we sent (store.PendingFollowKey).
//
// claimed reports whether the activity claims to answer a Follow by a
// local actor at all: one that does and matches nothing is a forgery (or
// stale) and is refused before anything is stored.
func (h *Handler) answeredFollows(ctx context.Context, tx store.Store, a *Activity) (locals []*actor.Actor, claimed bool, err error) {
	ids, vals := a.Doc.ObjectRefs()
	for _, v := range a.Doc.EmbeddedObjects() {
		if v.ID() == nil { // some servers embed the Follow without its id
			ids, vals = append(ids, nil), append(vals, v)
		}
	}
	answerer := a.actorString()
	for i, id := range ids {
		var la *actor.Actor
		var follows bool
		if id != nil {
			la, follows, err = h.answersStoredFollow(ctx, tx, id, answerer)
			if err != nil {
				return nil, false, err
			}
		}
		if !follows && vals[i] != nil && vals[i].Type() == "Follow" {
			la, follows, err = h.answersPendingFollow(ctx, tx, a, vals[i])
			if err != nil {
				return nil, false, err
			}
		}
		claimed = claimed || follows
		if la != nil && !slices.ContainsFunc(locals, func(x *actor.Actor) bool { return x.IRI().String() == la.IRI().String() }) {
			locals = append(locals, la)
		}
	}
	return locals, claimed, nil
}

// answersStoredFollow checks id against the Follows we stored: follows
// reports whether id is a local Follow (or names one), la its follower
// when answerer is the one it was sent to and it is still pending or
// accepted.
func (h *Handler) answersStoredFollow(ctx context.Context, tx store.Store, id *url.URL, answerer string) (la *actor.Actor, follows bool, err error) {
	o, err := tx.GetObject(ctx, id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	if !o.Local || o.Type != "Follow" {
		return nil, false, nil
	}
	follow, err := ap.Decode(o.Data)
	if err != nil {
		return nil, true, fmt.Errorf("inbox: stored follow %s: %w", id, err)
	}
	followers, objs := follow.Actors(), follow.Objects()
	if len(followers) != 1 || len(objs) != 1 || objs[0].String() != answerer {
		return nil, true, nil
	}
	local, err := h.localActor(ctx, followers[0])
	if err != nil || local == nil {
		return nil, true, err
	}
	ok, err := h.stillAnswerable(ctx, tx, local, answerer, id.String())
	if err != nil || !ok {
		return nil, true, err
	}
	return local, true, nil
}

// answersPendingFollow matches an embedded Follow whose id we do not know
// (a server that rewrote or dropped it) by the pair of actors: its follower
// must be a local actor with a pending Follow of the answerer. Candidates
// for the follower are the Follow's actor, the owner of the personal inbox
// and the local actors the answer is addressed to.
func (h *Handler) answersPendingFollow(ctx context.Context, tx store.Store, a *Activity, follow *ap.Doc) (la *actor.Actor, follows bool, err error) {
	answerer := a.actorString()
	if objs := follow.Objects(); len(objs) > 1 || (len(objs) == 1 && objs[0].String() != answerer) {
		return nil, false, nil // a Follow of someone else: not an answer by this actor
	}
	var candidates []*url.URL
	for _, f := range follow.Actors() {
		if h.actors.IsLocal(f) {
			follows = true
			candidates = append(candidates, f)
		}
	}
	if a.Receiver != nil {
		candidates = append(candidates, a.Receiver.IRI())
	}
	candidates = append(candidates, a.Doc.Recipients()...)
	for _, c := range candidates {
		local, err := h.localActor(ctx, c)
		if err != nil {
			return nil, follows, err
		}
		if local == nil {
			continue
		}
		_, err = tx.GetValue(ctx, store.PendingFollowKey(local.IRI().String(), answerer))
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, follows, err
		}
		return local, true, nil
	}
	return nil, follows, nil
}

// stillAnswerable reports whether local's Follow followID of remote may
// still be answered: it is the pending one, or remote already accepted it.
// A Follow that was undone (or superseded by a newer one) is not.
func (h *Handler) stillAnswerable(ctx context.Context, tx store.Store, local *actor.Actor, remote, followID string) (bool, error) {
	pending, err := tx.GetValue(ctx, store.PendingFollowKey(local.IRI().String(), remote))
	switch {
	case err == nil:
		return string(pending) == followID, nil
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	return tx.HasItem(ctx, local.Following().String(), remote)
}

func (h *Handler) onAcceptReject(ctx context.Context, tx store.Store, a *Activity) error {
	locals := a.answers
	if locals == nil {
		var err error
		if locals, _, err = h.answeredFollows(ctx, tx, a); err != nil {
			return err
		}
	}
	remote := a.actorString()
	for _, local := range locals {
		if err := ignoreNotFound(tx.DeleteValue(ctx, store.PendingFollowKey(local.IRI().String(), remote))); err != nil {
			return err
		}
		following, reverse := local.Following().String(), localFollowersKey(remote)
		if a.Type == "Accept" {
			if err := ignoreExists(tx.AddItem(ctx, following, remote)); err != nil {
				return err
			}
			if err := ignoreExists(tx.AddItem(ctx, reverse, local.IRI().String())); err != nil {
				return err
			}
			continue
		}
		if err := ignoreNotFound(tx.RemoveItem(ctx, following, remote)); err != nil {
			return err
		}
		if err := ignoreNotFound(tx.RemoveItem(ctx, reverse, local.IRI().String())); err != nil {
			return err
		}
	}
	return nil
}

// undoneActivities returns what an Undo undoes: for each object, what we
// received earlier under its id, else the copy the Undo embeds; nil for
// one never seen. It fails with 403 when one is not the Undo's actor's.
func undoneActivities(ctx context.Context, tx store.Store, a *Activity) (ids []*url.URL, undone []*ap.Doc, err error) {
	ids, undone = a.Doc.ObjectRefs()
	for i, id := range ids {
		if stored, err := tx.GetObject(ctx, id.String()); err == nil && !stored.Local {
			// Prefer what we received earlier over what the Undo embeds.
			if v, err := ap.Decode(stored.Data); err == nil {
				undone[i] = v
			}
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, nil, err
		}
		if undone[i] == nil {
			continue
		}
		if as := undone[i].Actors(); len(as) != 1 || as[0].String() != a.actorString() {
			return nil, nil, ap.Errorf(http.StatusForbidden, "an actor can only undo its own activities", nil)
		}
	}
	return ids, undone, nil
}

// checkOwnership refuses (403) an activity that acts on what is not its
// actor's: a Create or Update of an object attributed to someone else, an
// Update or Delete of a stored object of another owner (or of one of
// ours), an Undo of another actor's activity. It reads the store only;
// the side effects check again when they run.
func (h *Handler) checkOwnership(ctx context.Context, tx store.Store, a *Activity) error {
	switch a.Type {
	case "Create", "Update":
		ids, vals := a.Doc.ObjectRefs()
		for i, id := range ids {
			if err := checkAuthor(a, id, vals[i]); err != nil {
				return err
			}
			if a.Type == "Update" {
				if _, err := ownedForUpdate(ctx, tx, id.String(), a.actorString()); err != nil {
					return err
				}
			}
		}
	case "Delete":
		ids, _ := a.Doc.ObjectRefs()
		for _, id := range ids {
			if _, err := ownedForDelete(ctx, tx, id, a.Actor); err != nil {
				return err
			}
		}
	case "Undo":
		_, _, err := undoneActivities(ctx, tx, a)
		return err
	}
	return nil
}

// checkAuthor refuses an embedded object that names authors other than
// the activity's actor (an actor updating itself names none).
func checkAuthor(a *Activity, id *url.URL, v *ap.Doc) error {
	if v == nil || id.String() == a.actorString() {
		return nil
	}
	if authors := v.AttributedTo(); len(authors) > 0 && !containsIRI(authors, a.actorString()) {
		return ap.Errorf(http.StatusForbidden, "object is attributed to someone else", nil)
	}
	return nil
}

// ownedForUpdate returns the stored object iri (nil if none) when owner
// may update it, else a 403.
func ownedForUpdate(ctx context.Context, tx store.Store, iri, owner string) (*store.Object, error) {
	old, err := tx.GetObject(ctx, iri)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case old.Local || (old.Actor != "" && old.Actor != owner):
		return nil, ap.Errorf(http.StatusForbidden, "only the owner may update an object", nil)
	}
	return old, nil
}

// ownedForDelete returns the stored object id (nil if none) when actor
// may delete it, else a 403.
func ownedForDelete(ctx context.Context, tx store.Store, id, actor *url.URL) (*store.Object, error) {
	o, err := tx.GetObject(ctx, id.String())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	case o.Local || !ap.SameOrigin(id, actor) || (o.Actor != "" && o.Actor != actor.String() && o.IRI != actor.String()):
		return nil, ap.Errorf(http.StatusForbidden, "only the owner may delete an object", nil)
	}
	return o, nil
}

func (h *Handler) onUndo(ctx context.Context, tx store.Store, a *Activity) error {
	ids, undos, err := undoneActivities(ctx, tx, a)
	if err != nil {
		return err
	}
	for i, id := range ids {
		undone := undos[i]
		if undone == nil {
			continue // never seen it: nothing to undo
		}
		objs, _ := undone.ObjectRefs()
		if len(objs) != 1 {
			continue
		}
		var err error
		switch undone.Type() {
		case "Follow":
			var local *actor.Actor
			if local, err = h.localActor(ctx, objs[0]); err == nil && local != nil {
				err = ignoreNotFound(tx.RemoveItem(ctx, local.Followers().String(), a.actorString()))
				if err == nil {
					err = ignoreNotFound(tx.RemoveItem(ctx, followedKey(a.actorString()), local.IRI().String()))
				}
				if err == nil {
					err = ignoreNotFound(tx.RemoveItem(ctx, FollowRequests(local), id.String()))
				}
			}
		case "Like":
			err = ignoreNotFound(tx.RemoveItem(ctx, Likes(objs[0].String()), a.actorString()))
		case "Announce":
			err = ignoreNotFound(tx.RemoveItem(ctx, Shares(objs[0].String()), a.actorString()))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// onCreateUpdate stores the objects a Create or Update carries. An embedded
// object is trusted only when it shares the actor's origin and names the
// actor as its author; one of another origin was replaced by its IRI
// (distrust) and, like any given by IRI, is fetched from its origin.
func (h *Handler) onCreateUpdate(ctx context.Context, tx store.Store, a *Activity) error {
	ids, vals := a.Doc.ObjectRefs()
	for i, id := range ids {
		v := vals[i]
		if v == nil {
			// Given by IRI, or a copy the actor could not vouch for (see
			// distrust; a Lemmy moderator updating a community, say):
			// fetched from its origin before this unit (prefetch).
			if a.Type == "Create" {
				if err := h.addToTimelines(ctx, tx, a); err != nil {
					return err
				}
			}
			continue
		}
		owner := a.actorString()
		if err := checkAuthor(a, id, v); err != nil {
			return err
		}
		// Stored as received: the vocabulary's round trip is lossy.
		data, ok := a.Doc.EmbeddedJSON(v)
		var err error
		if !ok {
			if data, err = v.JSON(); err != nil {
				return ap.Errorf(http.StatusBadRequest, "object cannot be serialised", err)
			}
		}
		obj := &store.Object{IRI: id.String(), Type: v.Type(), Actor: owner, Data: data}
		if r := v.InReplyTo(); r != nil {
			obj.InReplyTo = r.String() // the thread index (store.ObjectQuery.InReplyTo)
		}
		if a.Type == "Create" {
			err = ignoreExists(tx.CreateObject(ctx, obj))
		} else {
			err = h.update(ctx, tx, obj)
		}
		if err != nil {
			return err
		}
		if a.Type == "Create" {
			if err := h.addToTimelines(ctx, tx, a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *Handler) update(ctx context.Context, tx store.Store, obj *store.Object) error {
	old, err := ownedForUpdate(ctx, tx, obj.IRI, obj.Actor)
	if err != nil {
		return err
	}
	if old != nil && old.Type == "Tombstone" {
		return nil // deleted objects stay deleted
	}
	return tx.PutObject(ctx, obj)
}

func containsIRI(list []*url.URL, u string) bool {
	for _, x := range list {
		if x.String() == u {
			return true
		}
	}
	return false
}

// isFollowersOf reports whether r is actor's followers collection, as
// Mastodon names it: the actor's IRI and "/followers".
func isFollowersOf(r, actor *url.URL) bool {
	p, ok := strings.CutSuffix(r.Path, "/followers")
	return ok && p == actor.Path && ap.SameOrigin(r, actor)
}

// addToTimelines files the activity in the inbox collection (the home
// timeline) of each local actor it is for: the owner of the personal inbox
// it came to, local actors addressed directly, and local followers of the
// sender when it is addressed to the sender's followers or to the public.
func (h *Handler) addToTimelines(ctx context.Context, tx store.Store, a *Activity) error {
	targets := map[string]bool{}
	if a.Receiver != nil {
		targets[a.Receiver.IRI().String()] = true
	}
	broadcast := false
	for _, r := range a.Doc.Recipients() {
		if ap.IsPublicURL(r) || isFollowersOf(r, a.Actor) {
			broadcast = true
			continue
		}
		if la, err := h.localActor(ctx, r); err != nil {
			return err
		} else if la != nil {
			targets[la.IRI().String()] = true
		}
	}
	if broadcast {
		if err := store.EachItem(ctx, tx, localFollowersKey(a.actorString()), func(iri string) error {
			targets[iri] = true
			return nil
		}); err != nil {
			return err
		}
	}
	for iri := range targets {
		if err := ignoreExists(tx.AddItem(ctx, iri+"/inbox", a.idString())); err != nil {
			return err
		}
	}
	return nil
}

// onReaction records a Like (or similar) of a local object.
func (h *Handler) onReaction(ctx context.Context, tx store.Store, a *Activity, coll func(string) string) error {
	ids, _ := a.Doc.ObjectRefs()
	for _, id := range ids {
		o, err := tx.GetObject(ctx, id.String())
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		if !o.Local {
			continue
		}
		if err := ignoreExists(tx.AddItem(ctx, coll(o.IRI), a.actorString())); err != nil {
			return err
		}
	}
	return nil
}

func (h *Handler) onAnnounce(ctx context.Context, tx store.Store, a *Activity) error {
	if err := h.onReaction(ctx, tx, a, Shares); err != nil {
		return err
	}
	// An embedded copy is never trusted: the object was fetched from its
	// origin before this unit (prefetch).
	return h.addToTimelines(ctx, tx, a)
}

func (h *Handler) onDelete(ctx context.Context, tx store.Store, a *Activity) error {
	ids, _ := a.Doc.ObjectRefs()
	for _, id := range ids {
		if id.String() == a.actorString() {
			if err := h.forgetActor(ctx, tx, a.actorString()); err != nil {
				return err
			}
		}
		o, err := ownedForDelete(ctx, tx, id, a.Actor)
		if err != nil {
			return err
		}
		if o == nil || o.Type == "Tombstone" {
			continue
		}
		data, err := ap.TombstoneJSON(o.IRI, o.Type, time.Now())
		if err != nil {
			return err
		}
		if err := tx.PutObject(ctx, &store.Object{IRI: o.IRI, Type: "Tombstone", Actor: o.Actor, Data: data}); err != nil {
			return err
		}
	}
	return nil
}

// forgetActor ends every relationship between local actors and a remote
// actor that deleted itself: it no longer follows them nor is followed.
func (h *Handler) forgetActor(ctx context.Context, tx store.Store, remote string) error {
	unlink := func(reverse string, coll func(*actor.Actor) *url.URL) error {
		var locals []string
		if err := store.EachItem(ctx, tx, reverse, func(iri string) error {
			locals = append(locals, iri)
			return nil
		}); err != nil {
			return err
		}
		for _, iri := range locals {
			la, err := h.actors.ByIRI(ctx, iri)
			if err != nil {
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				return err
			}
			if err := ignoreNotFound(tx.RemoveItem(ctx, coll(la).String(), remote)); err != nil {
				return err
			}
			if err := ignoreNotFound(tx.RemoveItem(ctx, reverse, iri)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := unlink(followedKey(remote), (*actor.Actor).Followers); err != nil {
		return err
	}
	return unlink(localFollowersKey(remote), (*actor.Actor).Following)
}
