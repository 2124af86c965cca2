package ap

import "net/url"

// PublicIRI is the special collection that addresses everyone.
const PublicIRI = "https://www.w3.org/ns/activitystreams#Public"

// IsPublic reports whether an addressing value denotes the Public
// collection, in any of the three spellings seen in the wild: the full IRI,
// the compacted "as:Public" and the bare "Public".
func IsPublic(iri string) bool {
	switch iri {
	case PublicIRI, "as:Public", "Public":
		return true
	}
	return false
}

// IsPublicURL reports whether u denotes the Public collection: what
// IsPublic(u.String()) reports, without formatting u.
func IsPublicURL(u *url.URL) bool {
	if u == nil || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.RawPath != "" || u.RawFragment != "" {
		return false
	}
	switch {
	case u.Opaque != "": // "as:Public"
		return u.Scheme == "as" && u.Opaque == "Public" && u.Host == "" && u.Path == "" && u.Fragment == ""
	case u.Scheme == "https":
		return u.Host == "www.w3.org" && u.Path == "/ns/activitystreams" && u.Fragment == "Public" && !u.OmitHost
	case u.Scheme == "":
		return u.Host == "" && u.Path == "Public" && u.Fragment == "" && !u.OmitHost
	}
	return false
}
