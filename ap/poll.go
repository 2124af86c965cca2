package ap

import (
	"net/url"
	"time"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
)

// Poll is a Question's poll: its options with their vote counts, whether
// several options may be chosen, and when it ends.
type Poll struct {
	Multiple    bool // anyOf (several choices) rather than oneOf
	Options     []PollOption
	EndTime     time.Time // zero: no end given (Misskey sends null for endless polls)
	Closed      time.Time // when it closed, if the document says
	IsClosed    bool      // closed is present (as a time, true, or an object)
	VotersCount int       // Mastodon's votersCount; 0 when absent
}

// PollOption is one answer of a poll.
type PollOption struct {
	Name  string
	Votes int // the option's replies.totalItems
}

// TotalVotes returns the sum of the options' votes.
func (p Poll) TotalVotes() int {
	n := 0
	for _, o := range p.Options {
		n += o.Votes
	}
	return n
}

// ReadPoll returns t's poll and whether t is a poll: a Question with oneOf
// or anyOf options. When a document has both (Pleroma can), anyOf wins,
// as in Mastodon.
func ReadPoll(t vocab.Type) (Poll, bool) {
	q, ok := t.(vocab.ActivityStreamsQuestion)
	if !ok {
		return Poll{}, false
	}
	var p Poll
	var opts []vocab.Type
	if a := q.GetActivityStreamsAnyOf(); a != nil && a.Len() > 0 {
		p.Multiple = true
		for i := range a.Len() {
			if v := a.At(i).GetType(); v != nil {
				opts = append(opts, v)
			}
		}
	} else if o := q.GetActivityStreamsOneOf(); o != nil {
		for i := range o.Len() {
			if v := o.At(i).GetType(); v != nil {
				opts = append(opts, v)
			}
		}
	}
	if len(opts) == 0 {
		return Poll{}, false
	}
	for _, v := range opts {
		p.Options = append(p.Options, PollOption{Name: Name(v), Votes: repliesTotal(v)})
	}
	if e := q.GetActivityStreamsEndTime(); e != nil && e.IsXMLSchemaDateTime() {
		p.EndTime = e.Get()
	}
	if c := q.GetActivityStreamsClosed(); c != nil {
		for i := range c.Len() {
			it := c.At(i)
			switch {
			case it.IsXMLSchemaDateTime():
				p.Closed, p.IsClosed = it.GetXMLSchemaDateTime(), true
			case it.IsXMLSchemaBoolean():
				p.IsClosed = p.IsClosed || it.GetXMLSchemaBoolean()
			default:
				p.IsClosed = true
			}
		}
	}
	if vc := q.GetTootVotersCount(); vc != nil && vc.IsXMLSchemaNonNegativeInteger() {
		p.VotersCount = vc.Get()
	}
	return p, true
}

type withTotalItems interface {
	GetActivityStreamsTotalItems() vocab.ActivityStreamsTotalItemsProperty
}

type withReplies interface {
	GetActivityStreamsReplies() vocab.ActivityStreamsRepliesProperty
	SetActivityStreamsReplies(vocab.ActivityStreamsRepliesProperty)
}

// repliesTotal returns replies.totalItems of t (a poll option's votes).
func repliesTotal(t vocab.Type) int {
	r, ok := t.(withReplies)
	if !ok || r.GetActivityStreamsReplies() == nil {
		return 0
	}
	c, ok := r.GetActivityStreamsReplies().GetType().(withTotalItems)
	if !ok || c.GetActivityStreamsTotalItems() == nil {
		return 0
	}
	return c.GetActivityStreamsTotalItems().Get()
}

// NewPoll returns a Question by author with the HTML content (the
// question) and poll's options, as Mastodon writes one: each option a Note
// with a name and a replies Collection of its votes (totalItems), anyOf
// when poll.Multiple, oneOf otherwise, endTime when set, closed when
// poll.IsClosed, and votersCount. Address it with Address or SetTo/SetCc,
// then wrap it with NewCreate.
func NewPoll(id, author *url.URL, content string, published time.Time, poll Poll) vocab.ActivityStreamsQuestion {
	q := streams.NewActivityStreamsQuestion()
	q.SetJSONLDId(idProp(id))
	at := streams.NewActivityStreamsAttributedToProperty()
	at.AppendIRI(author)
	q.SetActivityStreamsAttributedTo(at)
	SetContent(q, content)
	if !published.IsZero() {
		q.SetActivityStreamsPublished(publishedProp(published))
	}
	oneOf := streams.NewActivityStreamsOneOfProperty()
	anyOf := streams.NewActivityStreamsAnyOfProperty()
	for _, o := range poll.Options {
		n := streams.NewActivityStreamsNote()
		SetName(n, o.Name)
		c := streams.NewActivityStreamsCollection()
		ti := streams.NewActivityStreamsTotalItemsProperty()
		ti.Set(o.Votes)
		c.SetActivityStreamsTotalItems(ti)
		r := streams.NewActivityStreamsRepliesProperty()
		r.SetActivityStreamsCollection(c)
		n.SetActivityStreamsReplies(r)
		if poll.Multiple {
			anyOf.AppendActivityStreamsNote(n)
		} else {
			oneOf.AppendActivityStreamsNote(n)
		}
	}
	if poll.Multiple {
		q.SetActivityStreamsAnyOf(anyOf)
	} else {
		q.SetActivityStreamsOneOf(oneOf)
	}
	if !poll.EndTime.IsZero() {
		e := streams.NewActivityStreamsEndTimeProperty()
		e.Set(poll.EndTime.UTC())
		q.SetActivityStreamsEndTime(e)
	}
	if poll.IsClosed {
		c := streams.NewActivityStreamsClosedProperty()
		if !poll.Closed.IsZero() {
			c.AppendXMLSchemaDateTime(poll.Closed.UTC())
		} else {
			c.AppendXMLSchemaBoolean(true)
		}
		q.SetActivityStreamsClosed(c)
	}
	vc := streams.NewTootVotersCountProperty()
	vc.Set(poll.VotersCount)
	q.SetTootVotersCount(vc)
	return q
}

// NewPollVote returns the Note by which voter votes for choice (an option's
// name) in question, as Mastodon expects: name = choice, inReplyTo = the
// question, no content, addressed to the question's author only. Send one
// per choice, each wrapped in NewCreate.
func NewPollVote(id, voter *url.URL, question vocab.Type, choice string) vocab.ActivityStreamsNote {
	n := streams.NewActivityStreamsNote()
	n.SetJSONLDId(idProp(id))
	at := streams.NewActivityStreamsAttributedToProperty()
	at.AppendIRI(voter)
	n.SetActivityStreamsAttributedTo(at)
	SetName(n, choice)
	SetInReplyTo(n, ID(question))
	if a := AttributedTo(question); len(a) > 0 {
		SetTo(n, a[0])
	}
	return n
}
