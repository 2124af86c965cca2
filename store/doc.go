// Package store defines what slothpub keeps and how: the Store interface
// that every storage driver implements, and its sentinel errors.
//
// Stores hold protocol state only: documents as raw JSON with a few indexed
// fields, ordered collections of IRIs, public keys, local accounts and a
// small key-value space with expiry (Values) for per-host protocol memory
// such as the signature scheme a peer accepts. They
// never parse ActivityStreams vocabulary, so a driver is small and needs no
// vocabulary imports.
//
// Drivers live in sub-packages: memstore (in memory, for tests and
// federations in a test binary) and sqlitestore (the embedded default).
// Every driver must pass the conformance suite in storetest.
package store
