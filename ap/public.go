package ap

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
