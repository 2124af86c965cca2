package ap

// The reading API: plain Go values from the properties fediverse software
// puts on posts (content, content warning, mentions, hashtags, emoji,
// attachments, replies, quotes). Every accessor takes any vocab.Type and
// returns the zero value when the property is absent or t lacks it, so a
// bot can read a Note, an Article, a Question or a Page the same way.
// Properties the vocabulary has no term for (quoteUrl, _misskey_quote,
// conversation, a Document's width and height...) are read from the
// type's unknown properties (GetUnknownProperties), which keep the JSON
// values exactly as the document gave them.

import (
	"html"
	"net/url"
	"slices"
	"strings"
	"time"

	"code.superseriousbusiness.org/activity/streams/vocab"
)

// Mention is a Mention tag: the mentioned actor and its handle.
type Mention struct {
	Href *url.URL // the actor's id
	Name string   // the handle as written, usually "@user@host"
}

// Hashtag is a Hashtag tag.
type Hashtag struct {
	Href *url.URL // the tag's page on the author's server
	Name string   // as written, usually with its "#" ("#NSFW")
}

// Emoji is a custom emoji tag (Mastodon's toot:Emoji).
type Emoji struct {
	ID      *url.URL
	Name    string // the shortcode with its colons, ":blobcat:"
	Icon    Media  // the image: URL and media type
	Updated time.Time
}

// Media is an attachment, an icon or an image: what a client needs to show
// it. Fields the document leaves out are zero.
type Media struct {
	Type      string // "Document", "Image", "Video", "Link", ...
	MediaType string // "image/png"
	URL       *url.URL
	Name      string // alt text (Mastodon sends the description as name)
	Blurhash  string
	Width     int
	Height    int
	// FocalPoint is Mastodon's focal point, x and y in [-1, 1]; HasFocalPoint
	// tells a (0, 0) focal point from none.
	FocalPoint    [2]float64
	HasFocalPoint bool
}

// Tag is any value of the tag property, whatever its type: Mention,
// Hashtag, Emoji, an FEP-e232 Link, or a type only one server knows.
type Tag struct {
	Type      string
	ID        *url.URL
	Href      *url.URL
	Name      string
	MediaType string   // of a Link tag
	Rel       []string // of a Link tag
	Icon      *Media   // of an Emoji
	Updated   time.Time
}

type withUnknown interface {
	GetUnknownProperties() map[string]any
}

// unknownProp returns the raw JSON value of a property the vocabulary does
// not know, or nil.
func unknownProp(t vocab.Type, key string) any {
	if u, ok := t.(withUnknown); ok {
		return u.GetUnknownProperties()[key]
	}
	return nil
}

// rawIRI reads an IRI from a raw JSON value: a string, or an object's id
// (or href). Empty and relative values give nil.
func rawIRI(v any) *url.URL {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		u, err := url.Parse(x)
		if err != nil || !u.IsAbs() {
			return nil
		}
		return u
	case map[string]any:
		if u := rawIRI(x["id"]); u != nil {
			return u
		}
		return rawIRI(x["href"])
	case []any:
		for _, e := range x {
			if u := rawIRI(e); u != nil {
				return u
			}
		}
	}
	return nil
}

func rawString(v any) string {
	s, _ := v.(string)
	return s
}

func rawInt(v any) (int, bool) {
	if f, ok := v.(float64); ok && f >= 0 && f == float64(int(f)) {
		return int(f), true
	}
	return 0, false
}

func rawBool(v any) (bool, bool) {
	b, ok := v.(bool)
	return b, ok
}

// langIter is the iterator shape of the natural-language properties
// (content, summary, name): a plain string or a language map.
type langIter interface {
	IsXMLSchemaString() bool
	GetXMLSchemaString() string
	IsRDFLangString() bool
	GetRDFLangString() map[string]string
	IsIRI() bool
	GetIRI() *url.URL
}

type langProp[I langIter] interface {
	Len() int
	At(int) I
}

// langValues returns the first plain string of p and the union of its
// language maps.
//
// The vocabulary reads any string that parses as a URL with a scheme as
// an IRI: "CW: spoilers", "RE: https://...", "Note: ..." or a bare link
// become IRIs whose scheme net/url has lowercased ("cw: spoilers"). Such
// values are returned as the IRI's text; the case of the part before the
// first colon cannot be recovered.
func langValues[I langIter](p langProp[I]) (plain string, hasPlain bool, m map[string]string) {
	if p == nil {
		return "", false, nil
	}
	for i := range p.Len() {
		it := p.At(i)
		switch {
		case it.IsXMLSchemaString() && !hasPlain:
			plain, hasPlain = it.GetXMLSchemaString(), true
		case it.IsIRI() && !hasPlain && it.GetIRI() != nil:
			plain, hasPlain = it.GetIRI().String(), true
		case it.IsRDFLangString():
			for k, v := range it.GetRDFLangString() {
				if m == nil {
					m = map[string]string{}
				}
				m[k] = v
			}
		}
	}
	return plain, hasPlain, m
}

// pickLanguage chooses the value of a language map to show when the
// document has no plain value: "und", then "en", then the first language
// in sorted order.
func pickLanguage(m map[string]string) string {
	for _, k := range []string{"und", "en"} {
		if v, ok := m[k]; ok {
			return v
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return ""
	}
	return m[keys[0]]
}

func langText[I langIter](p langProp[I]) string {
	plain, ok, m := langValues(p)
	if ok {
		return plain
	}
	return pickLanguage(m)
}

type withContent interface {
	GetActivityStreamsContent() vocab.ActivityStreamsContentProperty
	SetActivityStreamsContent(vocab.ActivityStreamsContentProperty)
}

type withSummary interface {
	GetActivityStreamsSummary() vocab.ActivityStreamsSummaryProperty
	SetActivityStreamsSummary(vocab.ActivityStreamsSummaryProperty)
}

type withName interface {
	GetActivityStreamsName() vocab.ActivityStreamsNameProperty
	SetActivityStreamsName(vocab.ActivityStreamsNameProperty)
}

// Content returns the HTML content of t: the plain "content" value, else
// (a document with only contentMap) the "und" or "en" entry of the
// language map, else its first language in sorted order.
func Content(t vocab.Type) string {
	if c, ok := t.(withContent); ok {
		return langText[vocab.ActivityStreamsContentPropertyIterator](c.GetActivityStreamsContent())
	}
	return ""
}

// ContentMap returns t's contentMap: language tag → HTML, or nil.
//
// Limitation: the vocabulary reads "content" or, when there is none,
// "contentMap", never both, so for a parsed document that has both (every
// Mastodon post) the map is lost and ContentMap returns nil; Content is
// then the plain content. Documents with only contentMap, and documents
// built with SetContentMap, give their map.
func ContentMap(t vocab.Type) map[string]string {
	if raw, ok := unknownProp(t, "contentMap").(map[string]any); ok {
		m := map[string]string{}
		for k, v := range raw {
			if s, ok := v.(string); ok {
				m[k] = s
			}
		}
		return m
	}
	if c, ok := t.(withContent); ok {
		_, _, m := langValues[vocab.ActivityStreamsContentPropertyIterator](c.GetActivityStreamsContent())
		return m
	}
	return nil
}

// Summary returns t's summary: on a post, its content warning (spoiler
// text); on an actor, the bio (HTML). Languages are chosen as in Content.
func Summary(t vocab.Type) string {
	if s, ok := t.(withSummary); ok {
		return langText[vocab.ActivityStreamsSummaryPropertyIterator](s.GetActivityStreamsSummary())
	}
	return ""
}

// Name returns t's name: a Page's or Article's title, a poll option, an
// attachment's alt text, an actor's display name. Languages are chosen as
// in Content.
func Name(t vocab.Type) string {
	if n, ok := t.(withName); ok {
		return langText[vocab.ActivityStreamsNamePropertyIterator](n.GetActivityStreamsName())
	}
	return ""
}

type withSensitive interface {
	GetActivityStreamsSensitive() vocab.ActivityStreamsSensitiveProperty
	SetActivityStreamsSensitive(vocab.ActivityStreamsSensitiveProperty)
}

// Sensitive reports whether t is marked sensitive (its media hidden behind
// a warning). A summary alone does not make a post sensitive here; Mastodon
// treats a post with a content warning as sensitive, see HasContentWarning.
func Sensitive(t vocab.Type) bool {
	if s, ok := t.(withSensitive); ok && s.GetActivityStreamsSensitive() != nil {
		p := s.GetActivityStreamsSensitive()
		for i := range p.Len() {
			if it := p.At(i); it.IsXMLSchemaBoolean() && it.Get() {
				return true
			}
		}
	}
	return false
}

// HasContentWarning reports whether t, a post, carries a content warning:
// a summary that is not blank.
func HasContentWarning(t vocab.Type) bool {
	return strings.TrimSpace(Summary(t)) != ""
}

type withUpdated interface {
	GetActivityStreamsUpdated() vocab.ActivityStreamsUpdatedProperty
	SetActivityStreamsUpdated(vocab.ActivityStreamsUpdatedProperty)
}

// Published returns t's publication time, or the zero time.
func Published(t vocab.Type) time.Time {
	if p, ok := t.(withPublished); ok && p.GetActivityStreamsPublished() != nil && p.GetActivityStreamsPublished().IsXMLSchemaDateTime() {
		return p.GetActivityStreamsPublished().Get()
	}
	return time.Time{}
}

// Updated returns the time t was last edited, or the zero time.
func Updated(t vocab.Type) time.Time {
	if p, ok := t.(withUpdated); ok && p.GetActivityStreamsUpdated() != nil && p.GetActivityStreamsUpdated().IsXMLSchemaDateTime() {
		return p.GetActivityStreamsUpdated().Get()
	}
	return time.Time{}
}

type withURL interface {
	GetActivityStreamsUrl() vocab.ActivityStreamsUrlProperty
	SetActivityStreamsUrl(vocab.ActivityStreamsUrlProperty)
}

type withHref interface {
	GetActivityStreamsHref() vocab.ActivityStreamsHrefProperty
}

type withMediaType interface {
	GetActivityStreamsMediaType() vocab.ActivityStreamsMediaTypeProperty
	SetActivityStreamsMediaType(vocab.ActivityStreamsMediaTypeProperty)
}

func href(t vocab.Type) *url.URL {
	if h, ok := t.(withHref); ok && h.GetActivityStreamsHref() != nil && h.GetActivityStreamsHref().IsXMLSchemaAnyURI() {
		return h.GetActivityStreamsHref().Get()
	}
	return nil
}

func mediaType(t vocab.Type) string {
	if m, ok := t.(withMediaType); ok && m.GetActivityStreamsMediaType() != nil {
		return m.GetActivityStreamsMediaType().Get()
	}
	return ""
}

// urlLink is one value of a url property.
type urlLink struct {
	u         *url.URL
	mediaType string
}

func urlLinks(t vocab.Type) []urlLink {
	w, ok := t.(withURL)
	if !ok || w.GetActivityStreamsUrl() == nil {
		return nil
	}
	p := w.GetActivityStreamsUrl()
	var out []urlLink
	for i := range p.Len() {
		it := p.At(i)
		switch {
		case it.IsXMLSchemaAnyURI():
			out = append(out, urlLink{u: it.GetXMLSchemaAnyURI()})
		case it.IsIRI():
			out = append(out, urlLink{u: it.GetIRI()})
		case it.GetType() != nil:
			if h := href(it.GetType()); h != nil {
				out = append(out, urlLink{u: h, mediaType: mediaType(it.GetType())})
			}
		}
	}
	return out
}

// URLs returns every value of t's url property: plain IRIs and the href of
// each Link (PeerTube lists a page and its video streams).
func URLs(t vocab.Type) []*url.URL {
	var out []*url.URL
	for _, l := range urlLinks(t) {
		out = append(out, l.u)
	}
	return out
}

// URL returns the address of t's page for people: the first url that is a
// plain IRI or a text/html Link, else the first url of any kind, else nil.
func URL(t vocab.Type) *url.URL {
	links := urlLinks(t)
	for _, l := range links {
		if l.mediaType == "" || strings.HasPrefix(l.mediaType, "text/html") {
			return l.u
		}
	}
	if len(links) > 0 {
		return links[0].u
	}
	return nil
}

type withInReplyTo interface {
	GetActivityStreamsInReplyTo() vocab.ActivityStreamsInReplyToProperty
	SetActivityStreamsInReplyTo(vocab.ActivityStreamsInReplyToProperty)
}

// InReplyTo returns the id of the post t answers, or nil.
func InReplyTo(t vocab.Type) *url.URL {
	if r, ok := t.(withInReplyTo); ok {
		if l := iris[vocab.ActivityStreamsInReplyToPropertyIterator](r.GetActivityStreamsInReplyTo()); len(l) > 0 {
			return l[0]
		}
	}
	return nil
}

type withContext interface {
	GetActivityStreamsContext() vocab.ActivityStreamsContextProperty
	SetActivityStreamsContext(vocab.ActivityStreamsContextProperty)
}

// Context returns t's context property, the thread it belongs to
// (Pleroma, Akkoma, Friendica, Lemmy, FEP-7888), or nil.
func Context(t vocab.Type) *url.URL {
	if c, ok := t.(withContext); ok {
		if l := iris[vocab.ActivityStreamsContextPropertyIterator](c.GetActivityStreamsContext()); len(l) > 0 {
			return l[0]
		}
	}
	return nil
}

// Conversation returns t's ostatus:conversation (Mastodon, Pleroma), an
// opaque thread identifier that is often a tag: URI rather than a URL.
// The vocabulary has no term for it; it is read from the unknown
// properties.
func Conversation(t vocab.Type) string {
	return rawString(unknownProp(t, "conversation"))
}

// Thread returns an identifier for the thread t belongs to: its context,
// else its conversation, else "".
func Thread(t vocab.Type) string {
	if c := Context(t); c != nil {
		return c.String()
	}
	return Conversation(t)
}

// Quote returns the id of the post t quotes, from the first of FEP-044f
// quote (Mastodon 4.5, GoToSocial), quoteUrl (Misskey, Akkoma), quoteUri
// (Fedibird), _misskey_quote, and an FEP-e232 Link tag whose rel names
// _misskey_quote or whose name starts with "RE:" (Pleroma), with an
// ActivityStreams media type. Empty values (some bridges send "") are skipped. The
// vocabulary has none of these terms; they are read from the unknown
// properties.
func Quote(t vocab.Type) *url.URL {
	for _, k := range []string{"quote", "quoteUrl", "quoteUri", "quoteURL", "_misskey_quote"} {
		if u := rawIRI(unknownProp(t, k)); u != nil {
			return u
		}
	}
	for _, tag := range Tags(t) {
		if tag.Type != "Link" || tag.Href == nil {
			continue
		}
		for _, r := range tag.Rel {
			if strings.HasSuffix(r, "_misskey_quote") {
				return tag.Href
			}
		}
		if isAS2MediaType(tag.MediaType) && strings.HasPrefix(strings.ToUpper(tag.Name), "RE:") {
			return tag.Href
		}
	}
	return nil
}

// isAS2MediaType reports whether mt names an ActivityStreams document
// (application/activity+json, or application/ld+json with the
// ActivityStreams profile).
func isAS2MediaType(mt string) bool {
	return strings.HasPrefix(mt, "application/activity+json") ||
		(strings.HasPrefix(mt, "application/ld+json") && strings.Contains(mt, asContext))
}

type withTag interface {
	GetActivityStreamsTag() vocab.ActivityStreamsTagProperty
	SetActivityStreamsTag(vocab.ActivityStreamsTagProperty)
}

// Tags returns every tag of t in document order, of whatever type. Tags
// given only as an IRI have just ID set.
func Tags(t vocab.Type) []Tag {
	w, ok := t.(withTag)
	if !ok || w.GetActivityStreamsTag() == nil {
		return nil
	}
	p := w.GetActivityStreamsTag()
	var out []Tag
	for i := range p.Len() {
		it := p.At(i)
		v := it.GetType()
		if v == nil {
			if it.IsIRI() {
				out = append(out, Tag{ID: it.GetIRI()})
			}
			continue
		}
		tag := Tag{Type: Type(v), ID: ID(v), Href: href(v), Name: Name(v), MediaType: mediaType(v), Updated: Updated(v)}
		if r, ok := v.(interface {
			GetActivityStreamsRel() vocab.ActivityStreamsRelProperty
		}); ok && r.GetActivityStreamsRel() != nil {
			for j := range r.GetActivityStreamsRel().Len() {
				if s := r.GetActivityStreamsRel().At(j); !s.IsIRI() {
					tag.Rel = append(tag.Rel, s.Get())
				} else {
					tag.Rel = append(tag.Rel, s.GetIRI().String())
				}
			}
		}
		if icons := mediaList(v, iconsOf); len(icons) > 0 {
			tag.Icon = &icons[0]
		}
		out = append(out, tag)
	}
	return out
}

// Mentions returns t's Mention tags that name an actor.
func Mentions(t vocab.Type) []Mention {
	var out []Mention
	for _, tag := range Tags(t) {
		if tag.Type == "Mention" && tag.Href != nil {
			out = append(out, Mention{Href: tag.Href, Name: tag.Name})
		}
	}
	return out
}

// Mentioned reports whether t has a Mention tag for actor.
func Mentioned(t vocab.Type, actor *url.URL) bool {
	if actor == nil {
		return false
	}
	for _, m := range Mentions(t) {
		if m.Href.String() == actor.String() {
			return true
		}
	}
	return false
}

// Hashtags returns t's Hashtag tags.
func Hashtags(t vocab.Type) []Hashtag {
	var out []Hashtag
	for _, tag := range Tags(t) {
		if tag.Type == "Hashtag" {
			out = append(out, Hashtag{Href: tag.Href, Name: tag.Name})
		}
	}
	return out
}

// Emojis returns t's custom emoji tags (on a post, an actor, or a Misskey
// reaction).
func Emojis(t vocab.Type) []Emoji {
	var out []Emoji
	for _, tag := range Tags(t) {
		if tag.Type == "Emoji" {
			e := Emoji{ID: tag.ID, Name: tag.Name, Updated: tag.Updated}
			if tag.Icon != nil {
				e.Icon = *tag.Icon
			}
			out = append(out, e)
		}
	}
	return out
}

type withAttachment interface {
	GetActivityStreamsAttachment() vocab.ActivityStreamsAttachmentProperty
	SetActivityStreamsAttachment(vocab.ActivityStreamsAttachmentProperty)
}

type withIcon interface {
	GetActivityStreamsIcon() vocab.ActivityStreamsIconProperty
	SetActivityStreamsIcon(vocab.ActivityStreamsIconProperty)
}

type withImage interface {
	GetActivityStreamsImage() vocab.ActivityStreamsImageProperty
	SetActivityStreamsImage(vocab.ActivityStreamsImageProperty)
}

// mediaIter is the shape of the attachment, icon and image iterators.
type mediaIter interface {
	IsIRI() bool
	GetIRI() *url.URL
	GetType() vocab.Type
}

func iconsOf(t vocab.Type) []mediaIter {
	w, ok := t.(withIcon)
	if !ok || w.GetActivityStreamsIcon() == nil {
		return nil
	}
	var out []mediaIter
	for i := range w.GetActivityStreamsIcon().Len() {
		out = append(out, w.GetActivityStreamsIcon().At(i))
	}
	return out
}

func imagesOf(t vocab.Type) []mediaIter {
	w, ok := t.(withImage)
	if !ok || w.GetActivityStreamsImage() == nil {
		return nil
	}
	var out []mediaIter
	for i := range w.GetActivityStreamsImage().Len() {
		out = append(out, w.GetActivityStreamsImage().At(i))
	}
	return out
}

func attachmentsOf(t vocab.Type) []mediaIter {
	w, ok := t.(withAttachment)
	if !ok || w.GetActivityStreamsAttachment() == nil {
		return nil
	}
	var out []mediaIter
	for i := range w.GetActivityStreamsAttachment().Len() {
		out = append(out, w.GetActivityStreamsAttachment().At(i))
	}
	return out
}

func mediaList(t vocab.Type, of func(vocab.Type) []mediaIter) []Media {
	var out []Media
	for _, it := range of(t) {
		if v := it.GetType(); v != nil {
			if Type(v) == "PropertyValue" {
				continue
			}
			out = append(out, ReadMedia(v))
		} else if it.IsIRI() {
			out = append(out, Media{URL: it.GetIRI()})
		}
	}
	return out
}

// ReadMedia reads one attachment, icon or image value. Blurhash, width,
// height and focalPoint come from the vocabulary's properties where the
// type has them (Image, Document) and from the unknown properties
// otherwise (Mastodon puts width and height on a Document, which the
// vocabulary only defines on Image and Link).
func ReadMedia(v vocab.Type) Media {
	m := Media{Type: Type(v), MediaType: mediaType(v), Name: Name(v)}
	if m.URL = URL(v); m.URL == nil {
		m.URL = href(v)
	}
	if m.MediaType == "" {
		for _, l := range urlLinks(v) {
			if l.mediaType != "" {
				m.MediaType = l.mediaType
				break
			}
		}
	}
	if b, ok := v.(interface {
		GetTootBlurhash() vocab.TootBlurhashProperty
	}); ok && b.GetTootBlurhash() != nil {
		// A blurhash with a colon early on ("USQv:h-W...") looks like an
		// IRI with a scheme to the vocabulary, which stores it as one;
		// the IRI's text is the blurhash.
		switch bh := b.GetTootBlurhash(); {
		case bh.IsXMLSchemaString():
			m.Blurhash = bh.Get()
		case bh.IsIRI():
			m.Blurhash = bh.GetIRI().String()
		}
	} else {
		m.Blurhash = rawString(unknownProp(v, "blurhash"))
	}
	if w, ok := v.(interface {
		GetActivityStreamsWidth() vocab.ActivityStreamsWidthProperty
	}); ok && w.GetActivityStreamsWidth() != nil && w.GetActivityStreamsWidth().IsXMLSchemaNonNegativeInteger() {
		m.Width = w.GetActivityStreamsWidth().Get()
	} else {
		m.Width, _ = rawInt(unknownProp(v, "width"))
	}
	if h, ok := v.(interface {
		GetActivityStreamsHeight() vocab.ActivityStreamsHeightProperty
	}); ok && h.GetActivityStreamsHeight() != nil && h.GetActivityStreamsHeight().IsXMLSchemaNonNegativeInteger() {
		m.Height = h.GetActivityStreamsHeight().Get()
	} else {
		m.Height, _ = rawInt(unknownProp(v, "height"))
	}
	var fp []float64
	if f, ok := v.(interface {
		GetTootFocalPoint() vocab.TootFocalPointProperty
	}); ok && f.GetTootFocalPoint() != nil {
		for i := range f.GetTootFocalPoint().Len() {
			if it := f.GetTootFocalPoint().At(i); it.IsXMLSchemaFloat() {
				fp = append(fp, it.Get())
			}
		}
	} else if raw, ok := unknownProp(v, "focalPoint").([]any); ok {
		for _, e := range raw {
			if x, ok := e.(float64); ok {
				fp = append(fp, x)
			}
		}
	}
	if len(fp) == 2 {
		m.FocalPoint, m.HasFocalPoint = [2]float64{fp[0], fp[1]}, true
	}
	return m
}

// Attachments returns t's media attachments in order (Document, Image,
// Video, Audio, Link...). PropertyValue entries, which actors use for
// profile fields, are left out: see ProfileFields.
func Attachments(t vocab.Type) []Media {
	return mediaList(t, attachmentsOf)
}

// Icon returns t's first icon (an actor's avatar, an emoji's image), or
// nil.
func Icon(t vocab.Type) *Media {
	if l := mediaList(t, iconsOf); len(l) > 0 {
		return &l[0]
	}
	return nil
}

// Image returns t's first image (an actor's header), or nil.
func Image(t vocab.Type) *Media {
	if l := mediaList(t, imagesOf); len(l) > 0 {
		return &l[0]
	}
	return nil
}

// PlainText turns post HTML into plain text for a program to read: tags
// are removed, <br> and paragraph ends become newlines, entities are
// decoded and the result is trimmed. It is meant for matching commands
// in a bot, not for sanitising HTML to display.
func PlainText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(html.UnescapeString(s))
			break
		}
		b.WriteString(html.UnescapeString(s[:i]))
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		tag := strings.ToLower(strings.TrimLeft(s[i+1:i+j], "/ "))
		name, _, _ := strings.Cut(tag, " ")
		name = strings.TrimRight(name, "/")
		switch {
		case name == "br":
			b.WriteByte('\n')
		case name == "p" && s[i+1] == '/':
			b.WriteString("\n\n")
		}
		s = s[i+j+1:]
	}
	return strings.TrimSpace(b.String())
}
