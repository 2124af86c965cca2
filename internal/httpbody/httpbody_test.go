package httpbody

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestRead(t *testing.T) {
	body := strings.Repeat("x", 1000)
	for _, tc := range []struct {
		name      string
		announced int64
		max       int64
		want      int
	}{
		{"announced", 1000, 2000, 1000},
		{"unannounced", -1, 2000, 1000},
		{"announced short", 10, 2000, 1000},
		{"announced huge", 1 << 40, 2000, 1000},
		{"at the cap", 1000, 1000, 1000},
		{"over the cap", 1000, 999, 1000},
		{"far over the cap", -1, 10, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(iotest.HalfReader(strings.NewReader(body)), tc.announced, tc.max)
			if err != nil || len(got) != tc.want || !bytes.Equal(got, []byte(body[:tc.want])) {
				t.Fatalf("Read = %d bytes, %v; want %d", len(got), err, tc.want)
			}
			if tc.announced == 1000 && tc.max >= 1000 && cap(got) != 1001 {
				t.Errorf("cap %d: the announced size was not the first buffer's", cap(got))
			}
		})
	}
	boom := errors.New("boom")
	got, err := Read(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(boom)), -1, 100)
	if !errors.Is(err, boom) || string(got) != "abc" {
		t.Fatalf("Read = %q, %v; want the bytes before the error and the error", got, err)
	}
}
