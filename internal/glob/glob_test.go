package glob

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// layout makes files under a new directory and returns it.
func layout(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		name := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFilesMatchesAnyDepthForADoubleStar(t *testing.T) {
	t.Parallel()
	dir := layout(t,
		"shards/shard-1.json",
		"shards/job-2/shard-2.json",
		"shards/a/b/shard-3.json",
		"shards/a/b/notes.txt",
		"shards/a/b.json/inside.txt",
		"other/shard-4.json",
	)
	tests := []struct {
		pattern string
		want    []string
	}{
		{"shards/**/*.json", []string{"shards/a/b/shard-3.json", "shards/job-2/shard-2.json", "shards/shard-1.json"}},
		{"shards/**/**/*.json", []string{"shards/a/b/shard-3.json", "shards/job-2/shard-2.json", "shards/shard-1.json"}},
		{"shards/**", []string{"shards/a/b.json/inside.txt", "shards/a/b/notes.txt", "shards/a/b/shard-3.json", "shards/job-2/shard-2.json", "shards/shard-1.json"}},
		{"shards/**/*.json/*", []string{"shards/a/b.json/inside.txt"}},
		{"shards/**/b/*", []string{"shards/a/b/notes.txt", "shards/a/b/shard-3.json"}},
		{"**/shard-4.json", []string{"other/shard-4.json"}},
		{"*/**/shard-[13].json", []string{"shards/a/b/shard-3.json", "shards/shard-1.json"}},
		// Without "**", filepath.Glob's meaning: one level each, and
		// directories are left out.
		{"shards/*.json", []string{"shards/shard-1.json"}},
		{"shards/*/*.json", []string{"shards/job-2/shard-2.json"}},
		{"nowhere/**/*.json", nil},
		{"shards/**/*.yaml", nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := Files(filepath.Join(dir, filepath.FromSlash(tt.pattern)))
			if err != nil {
				t.Fatal(err)
			}
			var rel []string
			for _, f := range got {
				r, err := filepath.Rel(dir, f)
				if err != nil {
					t.Fatal(err)
				}
				rel = append(rel, filepath.ToSlash(r))
			}
			if diff := cmp.Diff(tt.want, rel); diff != "" {
				t.Errorf("Files(%q) (-want +got):\n%s", tt.pattern, diff)
			}
		})
	}
}

func TestFilesWalksFromTheWorkingDirectoryForARelativePattern(t *testing.T) {
	// Not parallel: it changes the working directory.
	dir := layout(t, "shards/job-1/shard-1.json", "shards/shard-2.json")
	t.Chdir(dir)
	got, err := Files("shards/**/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"shards/job-1/shard-1.json", "shards/shard-2.json"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err = Files("**/shard-2.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"shards/shard-2.json"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestFilesRefusesAMalformedPattern(t *testing.T) {
	t.Parallel()
	for _, pattern := range []string{"shards/**/[.json", "shards/[.json", "[/**/*.json", `shards/**/x\`} {
		if _, err := Files(pattern); !errors.Is(err, filepath.ErrBadPattern) {
			t.Errorf("Files(%q) error = %v, want filepath.ErrBadPattern", pattern, err)
		}
	}
}
