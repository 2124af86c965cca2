package ap

// Setters that take any vocab.Type, for code (like outbox.Post) that
// receives activities whose concrete type it does not know. Each reports
// whether t has the property.

import (
	"encoding/json"
	"net/url"
	"time"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
)

// SetID sets the id of t.
func SetID(t vocab.Type, id *url.URL) {
	p := streams.NewJSONLDIdProperty()
	p.SetIRI(id)
	t.SetJSONLDId(p)
}

// SetActor replaces the actor of t, if t is an activity.
func SetActor(t vocab.Type, actor *url.URL) bool {
	w, ok := t.(WithActor)
	if ok {
		p := streams.NewActivityStreamsActorProperty()
		p.AppendIRI(actor)
		w.SetActivityStreamsActor(p)
	}
	return ok
}

// SetAttributedTo replaces the attributedTo of t, if it has one.
func SetAttributedTo(t vocab.Type, who *url.URL) bool {
	w, ok := t.(WithAttributedTo)
	if ok {
		p := streams.NewActivityStreamsAttributedToProperty()
		p.AppendIRI(who)
		w.SetActivityStreamsAttributedTo(p)
	}
	return ok
}

type withPublished interface {
	GetActivityStreamsPublished() vocab.ActivityStreamsPublishedProperty
	SetActivityStreamsPublished(vocab.ActivityStreamsPublishedProperty)
}

// SetPublishedIfMissing sets published to when, unless t already has it.
func SetPublishedIfMissing(t vocab.Type, when time.Time) {
	w, ok := t.(withPublished)
	if !ok || (w.GetActivityStreamsPublished() != nil && w.GetActivityStreamsPublished().IsXMLSchemaDateTime()) {
		return
	}
	p := streams.NewActivityStreamsPublishedProperty()
	p.Set(when.UTC().Truncate(time.Second))
	w.SetActivityStreamsPublished(p)
}

// CopyAddressing gives object the addressing (to, cc, bto, bcc, audience)
// of activity when object has none of its own, as Mastodon expects of a
// Create and its object.
func CopyAddressing(activity, object vocab.Type) {
	if dst, ok := object.(addressable); ok && len(Recipients(object)) == 0 {
		copyAddressing(dst, activity)
	}
}

// ReferObjects replaces each object embedded in t's object property that
// keep refuses by a bare reference to its id, and reports whether it changed
// anything. Objects without an id are left as they are (there is nothing to
// refer to). The inbox uses it to drop copies that the sender may not vouch
// for, so that only the copy fetched from the object's own origin is used.
func ReferObjects(t vocab.Type, keep func(id *url.URL, v vocab.Type) bool) bool {
	o, ok := t.(WithObject)
	if !ok || o.GetActivityStreamsObject() == nil {
		return false
	}
	p := o.GetActivityStreamsObject()
	changed := false
	for i := range p.Len() {
		it := p.At(i)
		v := it.GetType()
		if v == nil {
			continue
		}
		if id := ID(v); id != nil && !keep(id, v) {
			it.SetIRI(id)
			changed = true
		}
	}
	return changed
}

// TombstoneJSON returns the JSON of the Tombstone that replaces a deleted
// object.
func TombstoneJSON(id, formerType string, deleted time.Time) ([]byte, error) {
	return json.Marshal(map[string]any{
		"@context":   "https://www.w3.org/ns/activitystreams",
		"id":         id,
		"type":       "Tombstone",
		"formerType": formerType,
		"deleted":    deleted.UTC().Format(time.RFC3339),
	})
}
