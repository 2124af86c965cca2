// Package ap is slothpub's ActivityPub core: reading and writing
// ActivityStreams documents, addressing, protocol errors and the HTTP
// transport.
//
// # Documents
//
// Parse turns bytes from the network into a vocab.Type from the
// code.superseriousbusiness.org/activity vocabulary. Before decoding it
// rejects oversized, non-object and deeply nested input cheaply; after
// decoding it smooths over the quirks real servers send (no @context,
// "as:Public", extension types such as QuoteRequest or ChatMessage).
// Serialize writes a vocab.Type back with a complete @context. Failures are
// *Error values carrying an HTTP status and a public message, so an inbox
// can answer with WriteError directly.
//
// # The fast view
//
// Decode reads bytes into a *Doc with Parse's limits and normalisation but
// without building the generated value: ID, Type, Actors, Objects,
// ObjectRefs, To, Cc, Recipients, IsPublicAddressed, InReplyTo, Content,
// Summary, Tags, Mentions and the other common readers work on the decoded
// JSON directly, at the cost of encoding/json. Doc.Vocab builds the
// generated value on demand, once. The view reads the document as sent
// (IRI-like text keeps its case, contentMap stays beside content, unknown
// properties are there through Get) and otherwise agrees with the readers
// of the generated value on every document both accept: a differential
// test over the fixtures and FuzzDecode hold it to that.
//
// # Properties and addressing
//
// ID, Type, Actors, Objects, EmbeddedObjects, AttributedTo, To, Cc, Bto,
// Bcc, Audience and Recipients read the common properties of any
// vocabulary type as IRIs, whether the document gave an IRI or an
// embedded object. IsPublicAddressed recognises every spelling of the
// Public collection, StripBlind removes bto and bcc before delivery and
// SameOrigin compares origins. Small interfaces (WithActor, WithTo, ...)
// describe the types that carry each property. NewFollow, NewAccept,
// NewCreate, NewNote and their siblings build the activities a server
// sends; SetTo and SetCc address them.
//
// # Reading and writing posts and actors
//
// Plain accessors read what fediverse software shows from any vocab.Type,
// returning zero values when a property is absent: Content, ContentMap,
// Summary (the content warning), Sensitive, Name, Published, Updated, URL,
// InReplyTo, Context, Conversation and Thread, Quote (FEP-044f quote,
// quoteUrl, quoteUri, _misskey_quote), Attachments (media type, URL, alt
// text, blurhash, size, focal point), Tags, Mentions, Mentioned, Hashtags,
// Emojis, VisibilityOf and PlainText. ReadPoll reads a Question's options
// and votes, ReadInteractionPolicy GoToSocial's interactionPolicy and
// ReadActor an actor's profile (fields, avatar, header, collections,
// sharedInbox, alsoKnownAs, movedTo, discoverable, indexable, publicKey,
// assertionMethod Multikeys).
//
// For writing, NewReply builds a reply with the parent author's Mention
// tag, link and addressing; NewBoost, NewPoll, NewPollVote and
// NewProfileUpdate build the other common posts; AddMention, AddHashtag,
// AddEmoji, AddAttachment, Address, SetContent, SetContentMap, SetSummary,
// SetQuote, SetProfileFields, SetIcon and their siblings edit documents.
//
// Properties the vocabulary has no term for (quote, quoteUrl,
// _misskey_quote, conversation, featuredTags, assertionMethod, a
// Document's width and height) are read from and written to the type's
// unknown properties (GetUnknownProperties). Two losses come from the
// vocabulary itself: it keeps "content" and drops "contentMap" when a
// document has both, so ContentMap is nil for parsed Mastodon posts; and
// it stores any string that starts like a URI scheme ("CW: spoilers", a
// blurhash such as "USQv:...") as an IRI, whose scheme net/url lowercases,
// so such a summary, name, content or blurhash reads back with its first
// word in lower case ("cw: spoilers").
// The generated types stay available for anything rarer.
//
// # Transport
//
// Transport is the interface the rest of slothpub uses to reach other
// servers; HTTPTransport implements it over HTTP with timeouts, body and
// redirect caps, per-hop request signing and a dial-time guard against
// private addresses.
//
// With a signer that can choose its scheme (httpsig.Signer), HTTPTransport
// double-knocks: it signs with the scheme last seen to work for the host
// (draft-cavage-12 or RFC 9421), else HTTPTransportOptions.FirstScheme; on
// 401 or 400 it retries once, honouring the server's Accept-Signature when
// there is one and switching scheme otherwise, and remembers what worked in
// HTTPTransportOptions.Values (the store) for SchemeTTL.
package ap
