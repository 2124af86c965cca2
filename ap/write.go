package ap

// The writing API: setters for the properties the reading API returns and
// builders for the posts a bot or client writes most (a reply, a boost, a
// profile update; NewPoll is in poll.go). Setters take any vocab.Type and
// report whether t has the property, like those in mutate.go.

import (
	"html"
	"net/url"
	"strings"
	"time"

	"code.superseriousbusiness.org/activity/streams"
	"code.superseriousbusiness.org/activity/streams/vocab"
)

// SetContent replaces t's content with html (empty removes it), and drops
// a contentMap set by SetContentMap.
func SetContent(t vocab.Type, html string) bool {
	w, ok := t.(withContent)
	if ok {
		if u, ok := t.(withUnknown); ok && u.GetUnknownProperties() != nil {
			delete(u.GetUnknownProperties(), "contentMap")
		}
		if html == "" {
			w.SetActivityStreamsContent(nil)
			return true
		}
		p := streams.NewActivityStreamsContentProperty()
		p.AppendXMLSchemaString(html)
		w.SetActivityStreamsContent(p)
	}
	return ok
}

// SetContentMap replaces t's content with the language map m (language tag
// → HTML) and, as Mastodon does, a plain content holding the entry Content
// would pick (the "und" or "en" entry, else the first language). The map
// is kept as an unknown property "contentMap": the vocabulary would
// serialise a map beside a plain content as a two-element "content" array,
// which Mastodon does not read.
func SetContentMap(t vocab.Type, m map[string]string) bool {
	u, ok := t.(withUnknown)
	if !ok || u.GetUnknownProperties() == nil || !SetContent(t, pickLanguage(m)) {
		return false
	}
	if len(m) == 0 {
		delete(u.GetUnknownProperties(), "contentMap")
		return true
	}
	cp := make(map[string]any, len(m))
	for k, v := range m {
		cp[k] = v
	}
	u.GetUnknownProperties()["contentMap"] = cp
	return true
}

// SetSummary replaces t's summary (a post's content warning, an actor's
// bio) with s (empty removes it). Mastodon also marks a post with a
// content warning sensitive; call SetSensitive for that.
func SetSummary(t vocab.Type, s string) bool {
	w, ok := t.(withSummary)
	if ok {
		if s == "" {
			w.SetActivityStreamsSummary(nil)
			return true
		}
		p := streams.NewActivityStreamsSummaryProperty()
		p.AppendXMLSchemaString(s)
		w.SetActivityStreamsSummary(p)
	}
	return ok
}

// SetName replaces t's name (a title, an option, alt text, a display
// name) with s (empty removes it).
func SetName(t vocab.Type, s string) bool {
	w, ok := t.(withName)
	if ok {
		if s == "" {
			w.SetActivityStreamsName(nil)
			return true
		}
		p := streams.NewActivityStreamsNameProperty()
		p.AppendXMLSchemaString(s)
		w.SetActivityStreamsName(p)
	}
	return ok
}

// SetSensitive sets t's sensitive flag.
func SetSensitive(t vocab.Type, sensitive bool) bool {
	w, ok := t.(withSensitive)
	if ok {
		p := streams.NewActivityStreamsSensitiveProperty()
		p.AppendXMLSchemaBoolean(sensitive)
		w.SetActivityStreamsSensitive(p)
	}
	return ok
}

// SetInReplyTo sets the post t answers (nil removes it).
func SetInReplyTo(t vocab.Type, parent *url.URL) bool {
	w, ok := t.(withInReplyTo)
	if ok {
		if parent == nil {
			w.SetActivityStreamsInReplyTo(nil)
			return true
		}
		p := streams.NewActivityStreamsInReplyToProperty()
		p.AppendIRI(parent)
		w.SetActivityStreamsInReplyTo(p)
	}
	return ok
}

// SetContext sets t's context, the thread it belongs to (nil removes it).
func SetContext(t vocab.Type, thread *url.URL) bool {
	w, ok := t.(withContext)
	if ok {
		if thread == nil {
			w.SetActivityStreamsContext(nil)
			return true
		}
		p := streams.NewActivityStreamsContextProperty()
		p.AppendIRI(thread)
		w.SetActivityStreamsContext(p)
	}
	return ok
}

// SetQuote makes t quote the post quoted: FEP-044f quote (Mastodon 4.5,
// GoToSocial) plus the quoteUrl and _misskey_quote that Misskey, Akkoma
// and older servers read; nil removes all three. The vocabulary has no
// terms for them, so they are written as unknown properties and Serialize
// adds no @context definition for them (peers read them by their compact
// names). FEP-044f also asks for a QuoteRequest to the quoted author,
// which is not sent here.
func SetQuote(t vocab.Type, quoted *url.URL) bool {
	u, ok := t.(withUnknown)
	if !ok || u.GetUnknownProperties() == nil {
		return false
	}
	m := u.GetUnknownProperties()
	for _, k := range []string{"quote", "quoteUrl", "_misskey_quote"} {
		if quoted == nil {
			delete(m, k)
		} else {
			m[k] = quoted.String()
		}
	}
	return true
}

// appendTag adds v to t's tag property.
func appendTag(t vocab.Type, add func(vocab.ActivityStreamsTagProperty)) bool {
	w, ok := t.(withTag)
	if !ok {
		return false
	}
	p := w.GetActivityStreamsTag()
	if p == nil {
		p = streams.NewActivityStreamsTagProperty()
	}
	add(p)
	w.SetActivityStreamsTag(p)
	return true
}

func newMentionTag(m Mention) vocab.ActivityStreamsMention {
	v := streams.NewActivityStreamsMention()
	h := streams.NewActivityStreamsHrefProperty()
	h.Set(m.Href)
	v.SetActivityStreamsHref(h)
	if m.Name != "" {
		n := streams.NewActivityStreamsNameProperty()
		n.AppendXMLSchemaString(m.Name)
		v.SetActivityStreamsName(n)
	}
	return v
}

// AddMention mentions m in t: a Mention tag {"type":"Mention","href":...,
// "name":"@user@host"} and, unless the actor is already a recipient, the
// actor in cc (in to when t has no to yet, as for a direct message). An
// empty m.Name is guessed from the IRI (see NewReply). The content is left
// alone: include MentionHTML(m) in it for the mention to show as a link.
func AddMention(t vocab.Type, m Mention) bool {
	if m.Href == nil {
		return false
	}
	if m.Name == "" {
		m.Name = handleFromIRI(m.Href)
	}
	if !appendTag(t, func(p vocab.ActivityStreamsTagProperty) { p.AppendActivityStreamsMention(newMentionTag(m)) }) {
		return false
	}
	if !containsIRI(Recipients(t), m.Href) {
		if len(To(t)) == 0 {
			if w, ok := t.(WithTo); ok {
				SetTo(w, m.Href)
			}
		} else if w, ok := t.(WithCc); ok {
			SetCc(w, append(Cc(t), m.Href)...)
		}
	}
	return true
}

// MentionHTML returns the link Mastodon writes for a mention:
// <span class="h-card" translate="no"><a href="HREF" class="u-url
// mention">@<span>user</span></a></span>, user being the name up to its
// second "@".
func MentionHTML(m Mention) string {
	user := strings.TrimPrefix(m.Name, "@")
	if i := strings.IndexByte(user, '@'); i >= 0 {
		user = user[:i]
	}
	href := ""
	if m.Href != nil {
		href = m.Href.String()
	}
	return `<span class="h-card" translate="no"><a href="` + html.EscapeString(href) +
		`" class="u-url mention">@<span>` + html.EscapeString(user) + `</span></a></span>`
}

// AddHashtag adds a Hashtag tag to t. A name without "#" gets one.
func AddHashtag(t vocab.Type, h Hashtag) bool {
	return appendTag(t, func(p vocab.ActivityStreamsTagProperty) {
		v := streams.NewTootHashtag()
		if h.Href != nil {
			hp := streams.NewActivityStreamsHrefProperty()
			hp.Set(h.Href)
			v.SetActivityStreamsHref(hp)
		}
		name := h.Name
		if !strings.HasPrefix(name, "#") {
			name = "#" + name
		}
		n := streams.NewActivityStreamsNameProperty()
		n.AppendXMLSchemaString(name)
		v.SetActivityStreamsName(n)
		p.AppendTootHashtag(v)
	})
}

// AddEmoji adds a custom emoji tag to t: id, ":shortcode:" name and its
// image as icon. A name without colons gets them.
func AddEmoji(t vocab.Type, e Emoji) bool {
	return appendTag(t, func(p vocab.ActivityStreamsTagProperty) {
		v := streams.NewTootEmoji()
		if e.ID != nil {
			v.SetJSONLDId(idProp(e.ID))
		}
		name := e.Name
		if !strings.HasPrefix(name, ":") {
			name = ":" + name + ":"
		}
		SetName(v, name)
		if !e.Updated.IsZero() {
			u := streams.NewActivityStreamsUpdatedProperty()
			u.Set(e.Updated.UTC())
			v.SetActivityStreamsUpdated(u)
		}
		if e.Icon.URL != nil {
			ic := streams.NewActivityStreamsIconProperty()
			ic.AppendActivityStreamsImage(newImage(e.Icon))
			v.SetActivityStreamsIcon(ic)
		}
		p.AppendTootEmoji(v)
	})
}

func newImage(m Media) vocab.ActivityStreamsImage {
	img := streams.NewActivityStreamsImage()
	fillMedia(img, m)
	return img
}

// fillMedia writes m's fields onto v, using unknown properties for width
// and height on types the vocabulary gives none (Document, Video, Audio).
func fillMedia(v vocab.Type, m Media) {
	if m.MediaType != "" {
		if w, ok := v.(withMediaType); ok {
			p := streams.NewActivityStreamsMediaTypeProperty()
			p.Set(m.MediaType)
			w.SetActivityStreamsMediaType(p)
		}
	}
	if m.URL != nil {
		if w, ok := v.(withURL); ok {
			p := streams.NewActivityStreamsUrlProperty()
			p.AppendXMLSchemaAnyURI(m.URL)
			w.SetActivityStreamsUrl(p)
		}
	}
	if m.Name != "" {
		SetName(v, m.Name)
	}
	unknown := map[string]any{}
	if u, ok := v.(withUnknown); ok && u.GetUnknownProperties() != nil {
		unknown = u.GetUnknownProperties()
	}
	if m.Blurhash != "" {
		if w, ok := v.(interface {
			SetTootBlurhash(vocab.TootBlurhashProperty)
		}); ok {
			p := streams.NewTootBlurhashProperty()
			p.Set(m.Blurhash)
			w.SetTootBlurhash(p)
		} else {
			unknown["blurhash"] = m.Blurhash
		}
	}
	if m.HasFocalPoint {
		if w, ok := v.(interface {
			SetTootFocalPoint(vocab.TootFocalPointProperty)
		}); ok {
			p := streams.NewTootFocalPointProperty()
			p.AppendXMLSchemaFloat(m.FocalPoint[0])
			p.AppendXMLSchemaFloat(m.FocalPoint[1])
			w.SetTootFocalPoint(p)
		} else {
			unknown["focalPoint"] = []any{m.FocalPoint[0], m.FocalPoint[1]}
		}
	}
	if m.Width > 0 {
		if w, ok := v.(interface {
			SetActivityStreamsWidth(vocab.ActivityStreamsWidthProperty)
		}); ok {
			p := streams.NewActivityStreamsWidthProperty()
			p.Set(m.Width)
			w.SetActivityStreamsWidth(p)
		} else {
			unknown["width"] = float64(m.Width)
		}
	}
	if m.Height > 0 {
		if w, ok := v.(interface {
			SetActivityStreamsHeight(vocab.ActivityStreamsHeightProperty)
		}); ok {
			p := streams.NewActivityStreamsHeightProperty()
			p.Set(m.Height)
			w.SetActivityStreamsHeight(p)
		} else {
			unknown["height"] = float64(m.Height)
		}
	}
}

// AddAttachment appends a media attachment to t. Its type is m.Type
// ("Image", "Video", "Audio"; anything else, or "", gives the "Document"
// Mastodon sends), with mediaType, url, name (alt text), blurhash,
// focalPoint, width and height as set in m.
func AddAttachment(t vocab.Type, m Media) bool {
	w, ok := t.(withAttachment)
	if !ok {
		return false
	}
	var v vocab.Type
	switch m.Type {
	case "Image":
		v = streams.NewActivityStreamsImage()
	case "Video":
		v = streams.NewActivityStreamsVideo()
	case "Audio":
		v = streams.NewActivityStreamsAudio()
	default:
		v = streams.NewActivityStreamsDocument()
	}
	fillMedia(v, m)
	p := w.GetActivityStreamsAttachment()
	if p == nil {
		p = streams.NewActivityStreamsAttachmentProperty()
	}
	if err := p.AppendType(v); err != nil {
		return false
	}
	w.SetActivityStreamsAttachment(p)
	return true
}

// Visibility is a post's audience as Mastodon shows it.
type Visibility int

// Visibilities. The zero Visibility means "not chosen" (NewReply then
// follows the parent).
const (
	VisibilityPublic    Visibility = iota + 1 // to Public: timelines and everyone
	VisibilityUnlisted                        // cc Public: everyone, but kept off public timelines
	VisibilityFollowers                       // the author's followers and those mentioned
	VisibilityDirect                          // only those mentioned
)

func (v Visibility) String() string {
	switch v {
	case VisibilityPublic:
		return "public"
	case VisibilityUnlisted:
		return "unlisted"
	case VisibilityFollowers:
		return "followers"
	case VisibilityDirect:
		return "direct"
	}
	return "unset"
}

// VisibilityOf tells t's visibility from its addressing: Public in to
// (public), Public elsewhere (unlisted), every recipient mentioned
// (direct), otherwise followers-only. The last two are told apart without
// the author's followers IRI, by the Mention tags, as a receiving server
// must.
func VisibilityOf(t vocab.Type) Visibility {
	for _, u := range To(t) {
		if IsPublicURL(u) {
			return VisibilityPublic
		}
	}
	if IsPublicAddressed(t) {
		return VisibilityUnlisted
	}
	var mentioned []*url.URL
	for _, m := range Mentions(t) {
		mentioned = append(mentioned, m.Href)
	}
	for _, u := range Recipients(t) {
		if !containsIRI(mentioned, u) {
			return VisibilityFollowers
		}
	}
	return VisibilityDirect
}

// Address replaces t's to and cc the way Mastodon addresses a post of
// visibility v by an author whose followers collection is followers (nil
// leaves it out): public: to Public, cc followers and mentioned; unlisted:
// to followers, cc Public and mentioned; followers: to followers, cc
// mentioned; direct: to mentioned. bto, bcc and audience are left alone.
func Address(t vocab.Type, v Visibility, followers *url.URL, mentioned ...*url.URL) bool {
	wt, ok1 := t.(WithTo)
	wc, ok2 := t.(WithCc)
	if !ok1 || !ok2 {
		return false
	}
	var to, cc []*url.URL
	add := func(list []*url.URL, us ...*url.URL) []*url.URL {
		for _, u := range us {
			if u != nil && !containsIRI(to, u) && !containsIRI(cc, u) && !containsIRI(list, u) {
				list = append(list, u)
			}
		}
		return list
	}
	switch v {
	case VisibilityPublic:
		to = add(to, PublicURL())
		cc = add(cc, followers)
		cc = add(cc, mentioned...)
	case VisibilityUnlisted:
		to = add(to, followers)
		cc = add(cc, PublicURL())
		cc = add(cc, mentioned...)
	case VisibilityFollowers:
		to = add(to, followers)
		cc = add(cc, mentioned...)
	default:
		to = add(to, mentioned...)
	}
	SetTo(wt, to...)
	SetCc(wc, cc...)
	return true
}

// ReplyOptions tune NewReply; nil means all defaults.
type ReplyOptions struct {
	// Mentions are mentioned besides the parent's author. A Mention of the
	// author itself here sets its exact name (see Actor.Mention).
	Mentions []Mention
	// Visibility defaults to the parent's, except that a reply to a
	// followers-only post is direct (the replier's followers are not the
	// parent's audience).
	Visibility Visibility
	// Followers is the replier's followers collection, addressed by public,
	// unlisted and followers-only replies.
	Followers *url.URL
	// Published defaults to now.
	Published time.Time
}

// NewReply returns a Note by author answering parent, shaped as Mastodon
// writes replies: inReplyTo the parent's id; a Mention tag for the
// parent's author (attributedTo, or the actor of an activity) and for
// each of opts.Mentions; those actors in to/cc by Address; the mention
// links put at the start of content unless content already links them;
// the parent's context (thread) and content warning carried over.
//
// The author's mention name is the one given in opts.Mentions, else
// "@user@host" guessed from the IRI's last path segment, right for
// Mastodon, GoToSocial, Pleroma, Lemmy and PeerTube IRIs but not for
// Misskey's (/users/9abc...); Mastodon identifies mentioned accounts by
// href and uses the name only for display. Wrap the reply with NewCreate.
func NewReply(id, author *url.URL, parent vocab.Type, content string, opts *ReplyOptions) vocab.ActivityStreamsNote {
	if opts == nil {
		opts = &ReplyOptions{}
	}
	var mentions []Mention
	var parentAuthor *url.URL
	if a := AttributedTo(parent); len(a) > 0 {
		parentAuthor = a[0]
	} else if a := Actors(parent); len(a) > 0 {
		parentAuthor = a[0]
	}
	given := func(u *url.URL) bool {
		for _, m := range opts.Mentions {
			if m.Href != nil && m.Href.String() == u.String() {
				return true
			}
		}
		return false
	}
	if parentAuthor != nil && (author == nil || parentAuthor.String() != author.String()) && !given(parentAuthor) {
		mentions = append(mentions, Mention{Href: parentAuthor})
	}
	for _, m := range opts.Mentions {
		if m.Href != nil {
			mentions = append(mentions, m)
		}
	}
	var links []string
	var hrefs []*url.URL
	for i := range mentions {
		if mentions[i].Name == "" {
			mentions[i].Name = handleFromIRI(mentions[i].Href)
		}
		hrefs = append(hrefs, mentions[i].Href)
		if !strings.Contains(content, `href="`+mentions[i].Href.String()+`"`) {
			links = append(links, MentionHTML(mentions[i]))
		}
	}
	if len(links) > 0 {
		prefix := strings.Join(links, " ") + " "
		if rest, ok := strings.CutPrefix(content, "<p>"); ok {
			content = "<p>" + prefix + rest
		} else {
			content = prefix + content
		}
	}
	published := opts.Published
	if published.IsZero() {
		published = time.Now().UTC().Truncate(time.Second)
	}
	n := NewNote(id, author, content, published)
	SetInReplyTo(n, ID(parent))
	if c := Context(parent); c != nil {
		SetContext(n, c)
	}
	if cw := Summary(parent); strings.TrimSpace(cw) != "" {
		SetSummary(n, cw)
		SetSensitive(n, true)
	}
	tags := streams.NewActivityStreamsTagProperty()
	for _, m := range mentions {
		tags.AppendActivityStreamsMention(newMentionTag(m))
	}
	if tags.Len() > 0 {
		n.SetActivityStreamsTag(tags)
	}
	vis := opts.Visibility
	if vis == 0 {
		vis = VisibilityOf(parent)
		if vis == VisibilityFollowers {
			vis = VisibilityDirect
		}
	}
	Address(n, vis, opts.Followers, hrefs...)
	return n
}

// NewBoost returns the Announce by which actor boosts object, as Mastodon
// sends it: the object by IRI, to Public, cc the object's author and the
// actor's followers (nil leaves them out). A post that is not public is
// boosted to followers only (to followers, cc the author): Mastodon only
// lets authors boost their own such posts. published zero means now.
func NewBoost(id, actor, followers *url.URL, object vocab.Type, published time.Time) vocab.ActivityStreamsAnnounce {
	a := NewAnnounce(id, actor, ID(object))
	var objectAuthor *url.URL
	if l := AttributedTo(object); len(l) > 0 {
		objectAuthor = l[0]
	}
	var to, cc []*url.URL
	if IsPublicAddressed(object) {
		to = []*url.URL{PublicURL()}
		if objectAuthor != nil {
			cc = append(cc, objectAuthor)
		}
		if followers != nil {
			cc = append(cc, followers)
		}
	} else {
		if followers != nil {
			to = append(to, followers)
		}
		if objectAuthor != nil && !containsIRI(to, objectAuthor) {
			cc = append(cc, objectAuthor)
		}
	}
	SetTo(a, to...)
	SetCc(a, cc...)
	if published.IsZero() {
		published = time.Now().UTC().Truncate(time.Second)
	}
	a.SetActivityStreamsPublished(publishedProp(published))
	return a
}

// NewProfileUpdate returns the Update by which an actor announces its
// edited profile: actor and object the actor document itself (embedded),
// to Public, as Mastodon sends it. Edit the document first with
// SetName, SetSummary, SetIcon, SetImage, SetProfileFields and the like.
func NewProfileUpdate(id *url.URL, actor vocab.Type) vocab.ActivityStreamsUpdate {
	u := withCore(streams.NewActivityStreamsUpdate(), id, ID(actor), objectProp(actor))
	SetTo(u, PublicURL())
	return u
}

// SetProfileFields replaces the profile fields (PropertyValue attachments)
// of t, an actor, keeping its other attachments.
func SetProfileFields(t vocab.Type, fields ...Field) bool {
	w, ok := t.(withAttachment)
	if !ok {
		return false
	}
	p := streams.NewActivityStreamsAttachmentProperty()
	for _, it := range attachmentsOf(t) {
		if v := it.GetType(); v != nil && Type(v) != "PropertyValue" {
			_ = p.AppendType(v)
		} else if v == nil && it.IsIRI() {
			p.AppendIRI(it.GetIRI())
		}
	}
	for _, f := range fields {
		pv := streams.NewSchemaPropertyValue()
		SetName(pv, f.Name)
		val := streams.NewSchemaValueProperty()
		val.Set(f.Value)
		pv.SetSchemaValue(val)
		p.AppendSchemaPropertyValue(pv)
	}
	if p.Len() == 0 {
		w.SetActivityStreamsAttachment(nil)
	} else {
		w.SetActivityStreamsAttachment(p)
	}
	return true
}

// SetIcon sets t's icon (an actor's avatar) to an Image of m (nil URL
// removes it).
func SetIcon(t vocab.Type, m Media) bool {
	w, ok := t.(withIcon)
	if ok {
		if m.URL == nil {
			w.SetActivityStreamsIcon(nil)
			return true
		}
		p := streams.NewActivityStreamsIconProperty()
		p.AppendActivityStreamsImage(newImage(m))
		w.SetActivityStreamsIcon(p)
	}
	return ok
}

// SetImage sets t's image (an actor's header) to an Image of m (nil URL
// removes it).
func SetImage(t vocab.Type, m Media) bool {
	w, ok := t.(withImage)
	if ok {
		if m.URL == nil {
			w.SetActivityStreamsImage(nil)
			return true
		}
		p := streams.NewActivityStreamsImageProperty()
		p.AppendActivityStreamsImage(newImage(m))
		w.SetActivityStreamsImage(p)
	}
	return ok
}

// SetAlsoKnownAs replaces t's alsoKnownAs, the accounts an actor moves
// from (none removes it).
func SetAlsoKnownAs(t vocab.Type, iris ...*url.URL) bool {
	w, ok := t.(interface {
		SetActivityStreamsAlsoKnownAs(vocab.ActivityStreamsAlsoKnownAsProperty)
	})
	if ok {
		if len(iris) == 0 {
			w.SetActivityStreamsAlsoKnownAs(nil)
			return true
		}
		p := streams.NewActivityStreamsAlsoKnownAsProperty()
		for _, u := range iris {
			p.AppendXMLSchemaAnyURI(u)
		}
		w.SetActivityStreamsAlsoKnownAs(p)
	}
	return ok
}

// SetMovedTo sets the account t, an actor, moved to (nil removes it).
func SetMovedTo(t vocab.Type, target *url.URL) bool {
	w, ok := t.(interface {
		SetActivityStreamsMovedTo(vocab.ActivityStreamsMovedToProperty)
	})
	if ok {
		if target == nil {
			w.SetActivityStreamsMovedTo(nil)
			return true
		}
		p := streams.NewActivityStreamsMovedToProperty()
		p.Set(target)
		w.SetActivityStreamsMovedTo(p)
	}
	return ok
}

// SetManuallyApprovesFollowers sets whether t, an actor, reviews follow
// requests (a "locked" account).
func SetManuallyApprovesFollowers(t vocab.Type, manual bool) bool {
	w, ok := t.(interface {
		SetActivityStreamsManuallyApprovesFollowers(vocab.ActivityStreamsManuallyApprovesFollowersProperty)
	})
	if ok {
		p := streams.NewActivityStreamsManuallyApprovesFollowersProperty()
		p.Set(manual)
		w.SetActivityStreamsManuallyApprovesFollowers(p)
	}
	return ok
}

// SetDiscoverable sets Mastodon's discoverable flag of t, an actor (may
// be listed in directories and suggestions).
func SetDiscoverable(t vocab.Type, discoverable bool) bool {
	w, ok := t.(interface {
		SetTootDiscoverable(vocab.TootDiscoverableProperty)
	})
	if ok {
		p := streams.NewTootDiscoverableProperty()
		p.Set(discoverable)
		w.SetTootDiscoverable(p)
	}
	return ok
}

// SetIndexable sets Mastodon's indexable flag of t, an actor (its public
// posts may be full-text searched).
func SetIndexable(t vocab.Type, indexable bool) bool {
	w, ok := t.(interface {
		SetTootIndexable(vocab.TootIndexableProperty)
	})
	if ok {
		p := streams.NewTootIndexableProperty()
		p.Set(indexable)
		w.SetTootIndexable(p)
	}
	return ok
}

// SetFeaturedTags sets the featuredTags collection of t, an actor. The
// vocabulary has no term for it; it is written as an unknown property,
// and Serialize defines the term in @context only when the document uses
// other Mastodon terms (discoverable, featured, ...), as actors do.
func SetFeaturedTags(t vocab.Type, collection *url.URL) bool {
	u, ok := t.(withUnknown)
	if !ok || u.GetUnknownProperties() == nil {
		return false
	}
	if collection == nil {
		delete(u.GetUnknownProperties(), "featuredTags")
	} else {
		u.GetUnknownProperties()["featuredTags"] = collection.String()
	}
	return true
}
