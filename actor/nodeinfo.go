package actor

import (
	"net/http"
)

// NodeInfo schema IRIs, also the rel of the discovery links.
const (
	NodeInfo20Schema = "http://nodeinfo.diaspora.software/ns/schema/2.0"
	NodeInfo21Schema = "http://nodeinfo.diaspora.software/ns/schema/2.1"
)

type nodeInfoLink struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

type nodeInfoDiscovery struct {
	Links []nodeInfoLink `json:"links"`
}

// NodeInfoDiscoveryHandler serves "GET /.well-known/nodeinfo", linking
// NodeInfo 2.0 and 2.1.
func (d *Directory) NodeInfoDiscoveryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		d.writeJSON(w, r, "application/json", nodeInfoDiscovery{Links: []nodeInfoLink{
			{Rel: NodeInfo20Schema, Href: d.iri("/nodeinfo/2.0").String()},
			{Rel: NodeInfo21Schema, Href: d.iri("/nodeinfo/2.1").String()},
		}})
	})
}

type nodeInfoSoftware struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	Repository string `json:"repository,omitempty"`
	Homepage   string `json:"homepage,omitempty"`
}

type nodeInfoServices struct {
	Inbound  []string `json:"inbound"`
	Outbound []string `json:"outbound"`
}

type nodeInfoUsers struct {
	Total int `json:"total"`
}

type nodeInfoUsage struct {
	Users nodeInfoUsers `json:"users"`
}

type nodeInfo struct {
	Version           string           `json:"version"`
	Software          nodeInfoSoftware `json:"software"`
	Protocols         []string         `json:"protocols"`
	Services          nodeInfoServices `json:"services"`
	OpenRegistrations bool             `json:"openRegistrations"`
	Usage             nodeInfoUsage    `json:"usage"`
	Metadata          map[string]any   `json:"metadata"`
}

// NodeInfoHandler serves the NodeInfo document of version "2.0" or "2.1"
// (any other version answers 404): the software from Options.Software,
// protocols ["activitypub"], no services, Options.OpenRegistrations, the
// number of local users (the instance actor aside) and Options.Metadata.
// The Content-Type carries the schema as its profile parameter.
func (d *Directory) NodeInfoHandler(version string) http.Handler {
	schema := ""
	switch version {
	case "2.0":
		schema = NodeInfo20Schema
	case "2.1":
		schema = NodeInfo21Schema
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if schema == "" {
			writeError(w, http.StatusNotFound, "unsupported NodeInfo version")
			return
		}
		users, err := d.countUsers(r.Context())
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		sw := nodeInfoSoftware{Name: d.software.Name, Version: d.software.Version}
		if version == "2.1" {
			// 2.0's schema forbids these.
			sw.Repository, sw.Homepage = d.software.Repository, d.software.Homepage
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		d.writeJSON(w, r, `application/json; profile="`+schema+`#"`, nodeInfo{
			Version:           version,
			Software:          sw,
			Protocols:         []string{"activitypub"},
			Services:          nodeInfoServices{Inbound: []string{}, Outbound: []string{}},
			OpenRegistrations: d.openReg,
			Usage:             nodeInfoUsage{Users: nodeInfoUsers{Total: users}},
			Metadata:          d.metadata,
		})
	})
}
