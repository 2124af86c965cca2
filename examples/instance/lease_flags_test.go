package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --lease and --db-schema, which the crash tests rely on: zero values mean
// the worker's and pgstore's defaults; a lease under a second (renewed
// every half lease) is refused.
func TestLeaseAndSchemaFlags(t *testing.T) {
	none := func(string) string { return "" }
	var out bytes.Buffer
	c, err := parseFlags([]string{"serve"}, none, &out)
	require.NoError(t, err)
	assert.Zero(t, c.lease)
	assert.Empty(t, c.dbSchema)

	c, err = parseFlags([]string{"serve", "--lease", "3s", "--db-schema", "tenant_a"}, none, &out)
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, c.lease)
	assert.Equal(t, "tenant_a", c.dbSchema)

	c, err = parseFlags([]string{"serve"}, func(k string) string {
		return map[string]string{"SLOTHPUB_DB_SCHEMA": "from_env"}[k]
	}, &out)
	require.NoError(t, err)
	assert.Equal(t, "from_env", c.dbSchema)

	for _, bad := range []string{"500ms", "-1s"} {
		_, err = parseFlags([]string{"serve", "--lease", bad}, none, &out)
		assert.Error(t, err, "--lease %s", bad)
	}
}
