package ap

import (
	"net/url"
	"time"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
)

// Builders for the activities an inbox or outbox emits most often. Each
// sets the id and the core relations; addressing is set afterwards with
// SetTo, SetCc, SetBto, SetBcc and SetAudience. An activity wrapping an
// embedded object (Accept, Reject, Undo, Create, Update, Delete) takes the
// object as a vocab.Type; one naming its object by IRI takes a *url.URL.

func idProp(id *url.URL) vocab.JSONLDIdProperty {
	p := streams.NewJSONLDIdProperty()
	p.Set(id)
	return p
}

func actorProp(actor *url.URL) vocab.ActivityStreamsActorProperty {
	p := streams.NewActivityStreamsActorProperty()
	p.AppendIRI(actor)
	return p
}

func objectIRIProp(object *url.URL) vocab.ActivityStreamsObjectProperty {
	p := streams.NewActivityStreamsObjectProperty()
	p.AppendIRI(object)
	return p
}

// objectProp embeds object. Every vocabulary type an activity can carry is
// accepted; for one the object property cannot hold (which only a foreign
// vocab.Type implementation could be) its id is used instead.
func objectProp(object vocab.Type) vocab.ActivityStreamsObjectProperty {
	p := streams.NewActivityStreamsObjectProperty()
	if err := p.AppendType(object); err != nil {
		if id := ID(object); id != nil {
			p.AppendIRI(id)
		}
	}
	return p
}

func publishedProp(t time.Time) vocab.ActivityStreamsPublishedProperty {
	p := streams.NewActivityStreamsPublishedProperty()
	p.Set(t.UTC())
	return p
}

// coreActivity is what every builder sets: id, actor and object.
type coreActivity interface {
	SetJSONLDId(vocab.JSONLDIdProperty)
	SetActivityStreamsActor(vocab.ActivityStreamsActorProperty)
	SetActivityStreamsObject(vocab.ActivityStreamsObjectProperty)
}

// withCore sets a's id, actor and object and returns a.
func withCore[T coreActivity](a T, id, actor *url.URL, object vocab.ActivityStreamsObjectProperty) T {
	a.SetJSONLDId(idProp(id))
	a.SetActivityStreamsActor(actorProp(actor))
	a.SetActivityStreamsObject(object)
	return a
}

// NewFollow returns a Follow of object (an actor) by actor.
func NewFollow(id, actor, object *url.URL) vocab.ActivityStreamsFollow {
	return withCore(streams.NewActivityStreamsFollow(), id, actor, objectIRIProp(object))
}

// NewAccept returns an Accept by actor of object, typically the received
// Follow embedded as Mastodon expects.
func NewAccept(id, actor *url.URL, object vocab.Type) vocab.ActivityStreamsAccept {
	return withCore(streams.NewActivityStreamsAccept(), id, actor, objectProp(object))
}

// NewReject returns a Reject by actor of object, typically a Follow.
func NewReject(id, actor *url.URL, object vocab.Type) vocab.ActivityStreamsReject {
	return withCore(streams.NewActivityStreamsReject(), id, actor, objectProp(object))
}

// NewUndo returns an Undo by actor of object, the activity being undone
// (Follow, Like, Announce, Block), embedded.
func NewUndo(id, actor *url.URL, object vocab.Type) vocab.ActivityStreamsUndo {
	return withCore(streams.NewActivityStreamsUndo(), id, actor, objectProp(object))
}

// NewCreate returns a Create by actor of object. The Create copies the
// object's to, cc, bto, bcc and audience and its published time, as
// Mastodon does, so set the object's addressing before calling NewCreate.
func NewCreate(id, actor *url.URL, object vocab.Type) vocab.ActivityStreamsCreate {
	a := withCore(streams.NewActivityStreamsCreate(), id, actor, objectProp(object))
	copyAddressing(a, object)
	if p, ok := object.(interface {
		GetActivityStreamsPublished() vocab.ActivityStreamsPublishedProperty
	}); ok && p.GetActivityStreamsPublished() != nil && p.GetActivityStreamsPublished().IsXMLSchemaDateTime() {
		a.SetActivityStreamsPublished(publishedProp(p.GetActivityStreamsPublished().Get()))
	}
	return a
}

// NewUpdate returns an Update by actor of object (an edited object or the
// actor itself), copying the object's addressing like NewCreate.
func NewUpdate(id, actor *url.URL, object vocab.Type) vocab.ActivityStreamsUpdate {
	a := withCore(streams.NewActivityStreamsUpdate(), id, actor, objectProp(object))
	copyAddressing(a, object)
	return a
}

// NewDelete returns a Delete by actor of object, usually a Tombstone from
// NewTombstone (or the actor itself for an account deletion).
func NewDelete(id, actor *url.URL, object vocab.Type) vocab.ActivityStreamsDelete {
	return withCore(streams.NewActivityStreamsDelete(), id, actor, objectProp(object))
}

// NewLike returns a Like of object by actor.
func NewLike(id, actor, object *url.URL) vocab.ActivityStreamsLike {
	return withCore(streams.NewActivityStreamsLike(), id, actor, objectIRIProp(object))
}

// NewAnnounce returns an Announce (boost) of object by actor.
func NewAnnounce(id, actor, object *url.URL) vocab.ActivityStreamsAnnounce {
	return withCore(streams.NewActivityStreamsAnnounce(), id, actor, objectIRIProp(object))
}

// NewNote returns a Note with the given id, author, HTML content and
// publication time (a zero time leaves published unset).
func NewNote(id, attributedTo *url.URL, content string, published time.Time) vocab.ActivityStreamsNote {
	n := streams.NewActivityStreamsNote()
	n.SetJSONLDId(idProp(id))
	at := streams.NewActivityStreamsAttributedToProperty()
	at.AppendIRI(attributedTo)
	n.SetActivityStreamsAttributedTo(at)
	c := streams.NewActivityStreamsContentProperty()
	c.AppendXMLSchemaString(content)
	n.SetActivityStreamsContent(c)
	if !published.IsZero() {
		n.SetActivityStreamsPublished(publishedProp(published))
	}
	return n
}

// NewTombstone returns the Tombstone left in place of a deleted object:
// formerType is the deleted object's type name (e.g. "Note"), deleted the
// deletion time (a zero time leaves it unset).
func NewTombstone(id *url.URL, formerType string, deleted time.Time) vocab.ActivityStreamsTombstone {
	t := streams.NewActivityStreamsTombstone()
	t.SetJSONLDId(idProp(id))
	if formerType != "" {
		ft := streams.NewActivityStreamsFormerTypeProperty()
		ft.AppendXMLSchemaString(formerType)
		t.SetActivityStreamsFormerType(ft)
	}
	if !deleted.IsZero() {
		d := streams.NewActivityStreamsDeletedProperty()
		d.Set(deleted.UTC())
		t.SetActivityStreamsDeleted(d)
	}
	return t
}

// addressable is an activity whose addressing can be set.
type addressable interface {
	WithTo
	WithCc
	WithBto
	WithBcc
	WithAudience
}

func copyAddressing(dst addressable, src vocab.Type) {
	if l := To(src); len(l) > 0 {
		SetTo(dst, l...)
	}
	if l := Cc(src); len(l) > 0 {
		SetCc(dst, l...)
	}
	if l := Bto(src); len(l) > 0 {
		SetBto(dst, l...)
	}
	if l := Bcc(src); len(l) > 0 {
		SetBcc(dst, l...)
	}
	if l := Audience(src); len(l) > 0 {
		SetAudience(dst, l...)
	}
}
