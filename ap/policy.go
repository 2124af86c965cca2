package ap

import (
	"net/url"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
)

// InteractionPolicy is GoToSocial's interactionPolicy (also sent by
// Mastodon 4.5 for canQuote, and by WordPress): who may like, reply to,
// boost or quote a post. A nil rule means the post says nothing about that
// interaction, which GoToSocial reads as "anyone, automatically".
type InteractionPolicy struct {
	CanLike     *InteractionRule
	CanReply    *InteractionRule
	CanAnnounce *InteractionRule
	CanQuote    *InteractionRule
}

// InteractionRule lists who is approved automatically and who needs the
// author's manual approval: actor IRIs, collections (followers,
// following) or the Public collection. The older names "always" and
// "approvalRequired" are read into AutomaticApproval and ManualApproval.
type InteractionRule struct {
	AutomaticApproval []*url.URL
	ManualApproval    []*url.URL
}

// Allows reports whether r lets actor interact without approval, given
// the collections actor belongs to (for example the author's followers
// when actor follows the author). A nil rule allows everyone.
func (r *InteractionRule) Allows(actor *url.URL, memberOf ...*url.URL) bool {
	if r == nil {
		return true
	}
	for _, u := range r.AutomaticApproval {
		if IsPublicURL(u) || (actor != nil && u.String() == actor.String()) {
			return true
		}
		for _, c := range memberOf {
			if c != nil && u.String() == c.String() {
				return true
			}
		}
	}
	return false
}

type withInteractionPolicy interface {
	GetGoToSocialInteractionPolicy() vocab.GoToSocialInteractionPolicyProperty
	SetGoToSocialInteractionPolicy(vocab.GoToSocialInteractionPolicyProperty)
}

// canRule is the shape shared by GoToSocial's CanLike, CanReply,
// CanAnnounce and CanQuote types.
type canRule interface {
	GetGoToSocialAlways() vocab.GoToSocialAlwaysProperty
	GetGoToSocialApprovalRequired() vocab.GoToSocialApprovalRequiredProperty
	GetGoToSocialAutomaticApproval() vocab.GoToSocialAutomaticApprovalProperty
	GetGoToSocialManualApproval() vocab.GoToSocialManualApprovalProperty
}

type uriIter interface {
	IsXMLSchemaAnyURI() bool
	Get() *url.URL
	IsIRI() bool
	GetIRI() *url.URL
}

type uriProp[I uriIter] interface {
	Len() int
	At(int) I
}

func uris[I uriIter](p uriProp[I], into []*url.URL) []*url.URL {
	if p == nil {
		return into
	}
	for i := range p.Len() {
		it := p.At(i)
		var u *url.URL
		if it.IsXMLSchemaAnyURI() {
			u = it.Get()
		} else if it.IsIRI() {
			u = it.GetIRI()
		}
		if u != nil && !containsIRI(into, u) {
			into = append(into, u)
		}
	}
	return into
}

func containsIRI(list []*url.URL, u *url.URL) bool {
	for _, e := range list {
		if e.String() == u.String() {
			return true
		}
	}
	return false
}

func readRule(r canRule) *InteractionRule {
	// A typed nil (the property held a value of another kind) reads as
	// absent.
	if r == nil {
		return nil
	}
	var out InteractionRule
	out.AutomaticApproval = uris[vocab.GoToSocialAutomaticApprovalPropertyIterator](r.GetGoToSocialAutomaticApproval(), out.AutomaticApproval)
	out.AutomaticApproval = uris[vocab.GoToSocialAlwaysPropertyIterator](r.GetGoToSocialAlways(), out.AutomaticApproval)
	out.ManualApproval = uris[vocab.GoToSocialManualApprovalPropertyIterator](r.GetGoToSocialManualApproval(), out.ManualApproval)
	out.ManualApproval = uris[vocab.GoToSocialApprovalRequiredPropertyIterator](r.GetGoToSocialApprovalRequired(), out.ManualApproval)
	return &out
}

// ReadInteractionPolicy returns t's interactionPolicy and whether it has
// one.
func ReadInteractionPolicy(t vocab.Type) (InteractionPolicy, bool) {
	w, ok := t.(withInteractionPolicy)
	if !ok || w.GetGoToSocialInteractionPolicy() == nil {
		return InteractionPolicy{}, false
	}
	p := w.GetGoToSocialInteractionPolicy()
	for i := range p.Len() {
		it := p.At(i)
		if !it.IsGoToSocialInteractionPolicy() {
			continue
		}
		v := it.Get()
		var out InteractionPolicy
		if c := v.GetGoToSocialCanLike(); c != nil && c.Len() > 0 && c.At(0).IsGoToSocialCanLike() {
			out.CanLike = readRule(c.At(0).Get())
		}
		if c := v.GetGoToSocialCanReply(); c != nil && c.Len() > 0 && c.At(0).IsGoToSocialCanReply() {
			out.CanReply = readRule(c.At(0).Get())
		}
		if c := v.GetGoToSocialCanAnnounce(); c != nil && c.Len() > 0 && c.At(0).IsGoToSocialCanAnnounce() {
			out.CanAnnounce = readRule(c.At(0).Get())
		}
		if c := v.GetGoToSocialCanQuote(); c != nil && c.Len() > 0 && c.At(0).IsGoToSocialCanQuote() {
			out.CanQuote = readRule(c.At(0).Get())
		}
		return out, true
	}
	return InteractionPolicy{}, false
}

type canRuleSetter interface {
	SetGoToSocialAutomaticApproval(vocab.GoToSocialAutomaticApprovalProperty)
	SetGoToSocialManualApproval(vocab.GoToSocialManualApprovalProperty)
}

func fillRule(dst canRuleSetter, r *InteractionRule) {
	if len(r.AutomaticApproval) > 0 {
		p := streams.NewGoToSocialAutomaticApprovalProperty()
		for _, u := range r.AutomaticApproval {
			p.AppendXMLSchemaAnyURI(u)
		}
		dst.SetGoToSocialAutomaticApproval(p)
	}
	if len(r.ManualApproval) > 0 {
		p := streams.NewGoToSocialManualApprovalProperty()
		for _, u := range r.ManualApproval {
			p.AppendXMLSchemaAnyURI(u)
		}
		dst.SetGoToSocialManualApproval(p)
	}
}

// SetInteractionPolicy replaces t's interactionPolicy with p (rules left
// nil are left out), if t can carry one.
func SetInteractionPolicy(t vocab.Type, p InteractionPolicy) bool {
	w, ok := t.(withInteractionPolicy)
	if !ok {
		return false
	}
	v := streams.NewGoToSocialInteractionPolicy()
	if p.CanLike != nil {
		r := streams.NewGoToSocialCanLike()
		fillRule(r, p.CanLike)
		c := streams.NewGoToSocialCanLikeProperty()
		c.AppendGoToSocialCanLike(r)
		v.SetGoToSocialCanLike(c)
	}
	if p.CanReply != nil {
		r := streams.NewGoToSocialCanReply()
		fillRule(r, p.CanReply)
		c := streams.NewGoToSocialCanReplyProperty()
		c.AppendGoToSocialCanReply(r)
		v.SetGoToSocialCanReply(c)
	}
	if p.CanAnnounce != nil {
		r := streams.NewGoToSocialCanAnnounce()
		fillRule(r, p.CanAnnounce)
		c := streams.NewGoToSocialCanAnnounceProperty()
		c.AppendGoToSocialCanAnnounce(r)
		v.SetGoToSocialCanAnnounce(c)
	}
	if p.CanQuote != nil {
		r := streams.NewGoToSocialCanQuote()
		fillRule(r, p.CanQuote)
		c := streams.NewGoToSocialCanQuoteProperty()
		c.AppendGoToSocialCanQuote(r)
		v.SetGoToSocialCanQuote(c)
	}
	prop := streams.NewGoToSocialInteractionPolicyProperty()
	prop.AppendGoToSocialInteractionPolicy(v)
	w.SetGoToSocialInteractionPolicy(prop)
	return true
}
