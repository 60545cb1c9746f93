package replay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader reads lines of at most MaxLine bytes, reusing one buffer, so
// a file of any length is read in constant memory.
type lineReader struct {
	in   *bufio.Reader
	buf  []byte
	line int
}

func newLineReader(in *bufio.Reader) *lineReader { return &lineReader{in: in} }

// errLong reports a line over MaxLine bytes, which was skipped.
var errLong = errors.New("the line is longer than 1 MiB")

// next returns the next line without its line ending; the slice is valid
// until the next call. At the end it returns io.EOF.
func (l *lineReader) next() ([]byte, error) {
	l.buf = l.buf[:0]
	long := false
	for {
		chunk, err := l.in.ReadSlice('\n')
		if !long {
			if len(l.buf)+len(chunk) > MaxLine+2 { // room for "\r\n"
				long = true
				l.buf = l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == nil, errors.Is(err, io.EOF) && (len(l.buf) > 0 || long):
			l.line++
			if long {
				return nil, errLong
			}
			line := bytes.TrimRight(l.buf, "\r\n")
			if l.line == 1 {
				line = trimBOM(line)
			}
			return line, nil
		default:
			return nil, err
		}
	}
}

// nextEntry returns the next line that is not blank and marks e with its
// number and text. A line over MaxLine is a badEntry; the end is io.EOF.
func (l *lineReader) nextEntry(e *entry) ([]byte, error) {
	for {
		line, err := l.next()
		if errors.Is(err, errLong) {
			return nil, &badEntry{line: l.line, reason: errLong.Error()}
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		e.line, e.raw = l.line, line
		return line, nil
	}
}
