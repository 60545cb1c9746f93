// Package glob lists the files a pattern names, where a path element "**"
// stands for any number of directories, none included: shards/**/*.json
// finds shards/shard-1.json and shards/job-2/run-1/shard-2.json alike, as
// artifacts downloaded with or without merge-multiple lay them out.
package glob

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Files returns the files (anything but directories) pattern names, in
// lexical order. Each path element of the pattern is matched as path.Match
// matches one, except a whole element "**", which matches zero or more
// directories; without "**" a pattern means what it means to filepath.Glob.
// As with filepath.Glob, a pattern that matches nothing is no error, and
// the only error is a malformed pattern (filepath.ErrBadPattern).
// Directories that cannot be read are passed over, and symbolic links to
// directories are not followed.
func Files(pattern string) ([]string, error) {
	elems := strings.Split(filepath.ToSlash(pattern), "/")
	for _, elem := range elems {
		if _, err := path.Match(elem, ""); err != nil {
			return nil, filepath.ErrBadPattern
		}
	}
	if !slices.Contains(elems, "**") {
		return globFiles(pattern)
	}
	// The walk starts at the pattern's leading elements that name a
	// directory outright.
	fixed := 0
	for fixed < len(elems)-1 && !hasMeta(elems[fixed]) {
		fixed++
	}
	root := strings.Join(elems[:fixed], "/")
	switch {
	case fixed > 0 && root == "":
		root = "/"
	case root == "":
		root = "."
	}
	root = filepath.FromSlash(root)
	rest := elems[fixed:]
	var files []string
	walk := func(name string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, name)
		if err == nil && match(rest, strings.Split(filepath.ToSlash(rel), "/")) {
			files = append(files, name)
		}
		return nil
	}
	if err := filepath.WalkDir(root, walk); err != nil {
		return nil, err
	}
	slices.Sort(files)
	return files, nil
}

// globFiles is filepath.Glob without the directories.
func globFiles(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, name := range matches {
		if info, err := os.Stat(name); err == nil && !info.IsDir() {
			files = append(files, name)
		}
	}
	return files, nil
}

// match reports whether the path elements name match the pattern's
// elements.
func match(pattern, name []string) bool {
	for len(pattern) > 0 {
		if pattern[0] == "**" {
			for len(pattern) > 0 && pattern[0] == "**" {
				pattern = pattern[1:]
			}
			if len(pattern) == 0 {
				return true
			}
			for i := range name {
				if match(pattern, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pattern[0], name[0]); !ok {
			return false
		}
		pattern, name = pattern[1:], name[1:]
	}
	return len(name) == 0
}

// hasMeta reports whether a path element holds one of path.Match's
// special characters.
func hasMeta(elem string) bool {
	return strings.ContainsAny(elem, `*?[\`)
}
