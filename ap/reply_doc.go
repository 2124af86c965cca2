package ap

import "net/url"

// Mentioned reports whether the document has a Mention tag for actor (its
// href is actor's IRI), as the function Mentioned does for a generated
// value: how a bot tells that a post it received is addressed to it.
func (d *Doc) Mentioned(actor *url.URL) bool {
	if actor == nil {
		return false
	}
	s := actor.String()
	for _, m := range d.Mentions() {
		if m.Href.String() == s {
			return true
		}
	}
	return false
}
