package main

import (
	"bytes"
	"errors"
	"flag"
	"testing"
	"time"

	"github.com/slothpub/slothpub/store/sqlitestore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFlagsFromEnvironmentAndCommandLine(t *testing.T) {
	env := map[string]string{
		"SLOTHPUB_ADDR":          "127.0.0.1:9999",
		"SLOTHPUB_HOST":          "social.example",
		"SLOTHPUB_PROTOCOL":      "http",
		"SLOTHPUB_DATA":          "/tmp/x",
		"SLOTHPUB_USER":          "bob",
		"SLOTHPUB_ALLOW_PRIVATE": "true",
		"SLOTHPUB_DB":            "postgres://u:p@127.0.0.1/db",
		"SLOTHPUB_SQLITE_SYNC":   "NORMAL",
	}
	getenv := func(k string) string { return env[k] }
	var out bytes.Buffer

	c, err := parseFlags([]string{"serve"}, getenv, &out)
	require.NoError(t, err)
	assert.Equal(t, config{addr: "127.0.0.1:9999", host: "social.example", protocol: "http", data: "/tmp/x",
		db: "postgres://u:p@127.0.0.1/db", sqliteSync: sqlitestore.SyncNormal, retention: 7 * 24 * time.Hour, drain: 20 * time.Second, workers: 16, user: "bob", allowPrivate: true, logLevel: "info"}, *c)

	c, err = parseFlags([]string{"serve", "--host", "other.example", "--protocol", "https", "--allow-private=false"}, getenv, &out)
	require.NoError(t, err)
	assert.Equal(t, "other.example", c.host, "a flag wins over the environment")
	assert.Equal(t, "https", c.protocol)
	assert.False(t, c.allowPrivate)

	c, err = parseFlags([]string{"serve", "--forget-sent"}, getenv, &out)
	require.NoError(t, err)
	assert.True(t, c.forgetSent)

	c, err = parseFlags([]string{"serve", "--sqlite-sync", "full"}, getenv, &out)
	require.NoError(t, err)
	assert.Equal(t, sqlitestore.SyncFull, c.sqliteSync, "a flag wins over the environment")

	c, err = parseFlags([]string{"serve", "--addr", "127.0.0.1:8080"}, func(string) string { return "" }, &out)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8080", c.host, "the host defaults to the listen address")
	assert.Equal(t, "https", c.protocol)
	assert.Equal(t, sqlitestore.SyncFull, c.sqliteSync, "commits are fsynced unless asked otherwise")
}

func TestFlagsRejectBadValues(t *testing.T) {
	none := func(string) string { return "" }
	var out bytes.Buffer
	for _, args := range [][]string{
		{},
		{"run"},
		{"serve", "--protocol", "gopher"},
		{"serve", "--host", "https://social.example/"},
		{"serve", "extra"},
		{"serve", "--sqlite-sync", "off"},
		{"serve", "--job-retention", "-1h"},
	} {
		_, err := parseFlags(args, none, &out)
		assert.Error(t, err, "%v", args)
	}
	_, err := parseFlags([]string{"serve"}, func(k string) string {
		if k == "SLOTHPUB_SQLITE_SYNC" {
			return "off"
		}
		return ""
	}, &out)
	assert.ErrorContains(t, err, "SLOTHPUB_SQLITE_SYNC")
}

func TestHelpExplainsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	_, err := parseFlags([]string{"serve", "-h"}, func(string) string { return "" }, &out)
	require.True(t, errors.Is(err, flag.ErrHelp))
	for _, f := range []string{"-addr", "-host", "-protocol", "-data", "-user", "-allow-private", "-sqlite-sync", "-job-retention", "SLOTHPUB_SQLITE_SYNC", "SLOTHPUB_HOST", "SLOTHPUB_ALLOW_PRIVATE"} {
		assert.Contains(t, out.String(), f)
	}
}
