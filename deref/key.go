package deref

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/slothpub/slothpub/httpsig"
	"github.com/slothpub/slothpub/store"
)

// memKey is a parsed key in the memory cache.
type memKey struct {
	key     httpsig.PublicKey
	fetched time.Time
}

// ResolveKey implements httpsig.KeyResolver. It returns the public key named
// keyID together with its owner, an actor that lists the key and shares its
// origin.
//
// The document at keyID (without fragment) is fetched: either the actor
// itself (a publicKey or assertionMethod entry with that id), a stub served
// at the key's IRI whose id is the actor's (GoToSocial's /main-key, then
// refetched by its id), or a standalone key document whose owner (or
// controller) is fetched in turn and must list the key.
//
// Keys are cached in memory and in the store for Options.KeyMaxAge. refresh
// bypasses both caches and fetches the key and its owner anew (key
// rotation), unless the key was fetched less than
// Options.MinRefreshInterval ago. Keys of Options.LocalHost are read from
// the store (store.Keys, else the local actor document) and never fetched.
func (r *Resolver) ResolveKey(ctx context.Context, keyID string, refresh bool) (*httpsig.PublicKey, error) {
	ku, err := parseIRI(keyID)
	if err != nil {
		return nil, invalidIRI(keyID, err)
	}
	if r.isLocal(ku) {
		return r.localKey(ctx, keyID, ku)
	}
	maxAge := r.keyMaxAge
	if refresh {
		maxAge = r.minRefresh
	}
	if k, err := r.cachedKey(ctx, keyID, maxAge); k != nil || err != nil {
		return k, err
	}
	flight := "key\x00" + keyID
	if refresh {
		flight = "keyforce\x00" + keyID
	}
	// The key's documents are fetched inside this flight by object flights
	// of their own; share retries neither level on a timeout, so one
	// silent server costs one GET however the flights nest.
	v, err := r.share(ctx, flight, func() (any, error) {
		if k, err := r.cachedKey(ctx, keyID, maxAge); k != nil || err != nil {
			return k, err
		}
		return r.fetchKey(ctx, keyID, ku, refresh)
	})
	if err != nil {
		return nil, err
	}
	k := *v.(*httpsig.PublicKey)
	return &k, nil
}

// cachedKey returns the key from memory or the store if it was fetched
// less than maxAge ago, else nil. A non-positive maxAge disables both.
func (r *Resolver) cachedKey(ctx context.Context, keyID string, maxAge time.Duration) (*httpsig.PublicKey, error) {
	if maxAge <= 0 {
		return nil, nil
	}
	now := r.now()
	r.mu.Lock()
	mk, ok := r.keys[keyID]
	r.mu.Unlock()
	if ok && now.Sub(mk.fetched) < maxAge {
		k := mk.key
		return &k, nil
	}
	sk, err := r.st.GetKey(ctx, keyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("deref: store lookup of key %s: %w", keyID, err)
	}
	if now.Sub(sk.Fetched) >= maxAge {
		return nil, nil
	}
	pub, err := httpsig.ParsePublicKeyPEM(sk.PublicPEM)
	if err != nil {
		// A stored key we cannot read is as good as absent: refetch.
		r.log.WarnContext(ctx, "deref: unreadable stored key", slog.String("key", keyID), slog.Any("err", err))
		return nil, nil
	}
	k := httpsig.PublicKey{ID: sk.ID, Owner: sk.Owner, Key: pub}
	r.remember(k, sk.Fetched)
	return &k, nil
}

// localKey resolves a key of this server from the store only.
func (r *Resolver) localKey(ctx context.Context, keyID string, ku *url.URL) (*httpsig.PublicKey, error) {
	if k, err := r.cachedKey(ctx, keyID, time.Duration(1<<63-1)); k != nil || err != nil {
		return k, err
	}
	a, err := r.actor(ctx, withoutFragment(ku), false)
	if err != nil {
		return nil, fmt.Errorf("deref: local key %s: %w", keyID, err)
	}
	k := a.Key(keyID)
	if k == nil {
		return nil, fmt.Errorf("deref: local key %s: %w", keyID, store.ErrNotFound)
	}
	r.remember(*k, r.now())
	return k, nil
}

// fetchKey fetches keyID's document and, when needed, its owner; it checks
// ownership and caches the key.
func (r *Resolver) fetchKey(ctx context.Context, keyID string, ku *url.URL, force bool) (*httpsig.PublicKey, error) {
	o, err := r.object(ctx, withoutFragment(ku), force)
	if err != nil {
		if errors.Is(err, store.ErrGone) || errors.Is(err, store.ErrNotFound) {
			r.forgetKey(ctx, keyID)
		}
		return nil, err
	}
	f, err := parseFields(o.Data)
	if err != nil {
		return nil, rejectf("key %s: %v", keyID, err)
	}
	var k *httpsig.PublicKey
	if isActorType(f.strs("type")) {
		// The key's document is its actor (possibly reached through a
		// stub whose id is the actor's).
		a, err := r.parseActor(ctx, o.IRI, o.Data)
		if err != nil {
			return nil, err
		}
		if k = a.Key(keyID); k == nil {
			return nil, rejectf("key %s: actor %s does not list it", keyID, a.IRI)
		}
	} else {
		// A standalone key document: its owner must list it.
		ownerIRI, material, err := keyDocument(f)
		if err != nil {
			return nil, rejectf("key %s: %v", keyID, err)
		}
		if o.IRI != withoutFragment(ku).String() {
			return nil, rejectf("key %s: document %s is neither the key nor an actor", keyID, o.IRI)
		}
		ou, err := parseIRI(ownerIRI)
		if err != nil {
			return nil, rejectf("key %s: owner %q: %v", keyID, ownerIRI, err)
		}
		if !sameOrigin(ou, ku) {
			return nil, rejectf("key %s: owner %s is of another origin", keyID, ownerIRI)
		}
		a, err := r.actor(ctx, withoutFragment(ou), force)
		if err != nil {
			return nil, fmt.Errorf("deref: owner of key %s: %w", keyID, err)
		}
		switch {
		case a.Key(keyID) != nil:
			k = a.Key(keyID)
		case a.claims(keyID) && material != nil:
			k = &httpsig.PublicKey{ID: keyID, Owner: a.IRI, Key: material}
		default:
			return nil, rejectf("key %s: owner %s does not list it", keyID, a.IRI)
		}
	}
	ou, err := parseIRI(k.Owner)
	if err != nil || !sameOrigin(ou, ku) {
		return nil, rejectf("key %s: owner %s is of another origin", keyID, k.Owner)
	}
	now := r.now()
	if pemText, err := httpsig.EncodePublicKeyPEM(k.Key); err != nil {
		r.log.WarnContext(ctx, "deref: encoding key", slog.String("key", keyID), slog.Any("err", err))
	} else if err := r.st.PutKey(ctx, &store.Key{ID: keyID, Owner: k.Owner, PublicPEM: pemText, Fetched: now}); err != nil {
		return nil, fmt.Errorf("deref: store key %s: %w", keyID, err)
	}
	r.remember(*k, now)
	return k, nil
}

// remember puts k in the memory cache, evicting an arbitrary entry when
// the cache is full.
func (r *Resolver) remember(k httpsig.PublicKey, fetched time.Time) {
	if r.keyCap < 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.keys[k.ID]; !ok && len(r.keys) >= r.keyCap {
		for id := range r.keys {
			delete(r.keys, id)
			break
		}
	}
	r.keys[k.ID] = memKey{key: k, fetched: fetched}
}

// forgetKey drops a key whose document is gone from both caches.
func (r *Resolver) forgetKey(ctx context.Context, keyID string) {
	r.mu.Lock()
	delete(r.keys, keyID)
	r.mu.Unlock()
	if err := r.st.DeleteKey(ctx, keyID); err != nil && !errors.Is(err, store.ErrNotFound) {
		r.log.WarnContext(ctx, "deref: deleting key", slog.String("key", keyID), slog.Any("err", err))
	}
}
