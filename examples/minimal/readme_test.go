package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quickStart returns the first ```go block after the README's "## Quick
// start" heading.
func quickStart(t *testing.T, readme []byte) []byte {
	t.Helper()
	_, after, ok := bytes.Cut(readme, []byte("\n## Quick start"))
	require.True(t, ok, "README.md has no Quick start heading")
	_, after, ok = bytes.Cut(after, []byte("\n```go\n"))
	require.True(t, ok, "no ```go block under Quick start")
	code, _, ok := bytes.Cut(after, []byte("\n```\n"))
	require.True(t, ok, "unterminated ```go block under Quick start")
	return append(code, '\n')
}

// The README's quick start is a complete program: pasted into a new module
// that requires this one, it builds (offline, from the module cache), serves
// its actor on the address it is given, and exits cleanly on an interrupt.
func TestREADMEQuickStart(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the program stops on os.Interrupt, which Windows cannot send")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	src := quickStart(t, readme)
	require.True(t, bytes.HasPrefix(src, []byte("package main\n")), "the quick start is not a whole program:\n%s", src)

	// A new module: the repository's requirements (so that go.sum covers
	// them and nothing is downloaded) plus this module, replaced by the
	// checkout.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	mod := regexp.MustCompile(`(?m)^module .*$`).ReplaceAllLiteral(gomod, []byte("module example.com/social"))
	mod = fmt.Appendf(mod, "\nrequire github.com/slothpub/slothpub v0.0.0\n\nreplace github.com/slothpub/slothpub => %s\n", root)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), mod, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), gosum, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644))

	bin := filepath.Join(dir, "social")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build of the README's quick start:\n%s", out)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-addr", addr, "-host", "social.example")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// alice is found with WebFinger, and the note the program posted is in
	// her outbox.
	get := func(path string) (int, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+path, nil)
		req.Header.Set("Accept", "application/activity+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.Bytes()
	}
	var body []byte
	require.Eventually(t, func() bool {
		var status int
		status, body = get("/.well-known/webfinger?resource=acct:alice@social.example")
		return status == http.StatusOK
	}, 20*time.Second, 20*time.Millisecond, "the program did not serve WebFinger on %s; its log:\n%s", addr, &logs)
	var jrd struct {
		Subject string
		Links   []struct{ Rel, Href string }
	}
	require.NoError(t, json.Unmarshal(body, &jrd))
	assert.Equal(t, "acct:alice@social.example", jrd.Subject)
	require.NotEmpty(t, jrd.Links)
	assert.Equal(t, "https://social.example/users/alice", jrd.Links[0].Href)

	status, body := get("/users/alice/outbox")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var outbox struct{ TotalItems int }
	require.NoError(t, json.Unmarshal(body, &outbox))
	assert.Equal(t, 1, outbox.TotalItems, "%s", body)

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	select {
	case err := <-exited:
		require.NoError(t, err, "exit after interrupt; log:\n%s", &logs)
	case <-ctx.Done():
		t.Fatalf("the program did not exit within 10s of an interrupt; log:\n%s", &logs)
	}
	assert.True(t, strings.Contains(logs.String(), "serving https://social.example/users/alice on "+addr), "%s", &logs)
}
