// Command plan-comment renders the plan report of a pull request from the data .ci/plan-report
// leaves in its artifact (package comment). .ci/plan-report runs it for the ci run's job
// summary; plan-comment.yml runs it from the default branch for the pull request's comment.
//
//	go run ./pkg/plan/comment/cmd/plan-comment [-head SHA] -o COMMENT.md DIR
//
// Exit codes (of the built binary: go run reports any failure as 1): 0 rendered; 1 the data is
// refused, and COMMENT.md holds the refusal (a fixed text naming no more than the -head commit)
// while the reason goes to standard error; 2 bad usage, or COMMENT.md could not be written.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/cinegit/infrastructure/pkg/plan/comment"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	flags := flag.NewFlagSet("plan-comment", flag.ContinueOnError)
	flags.SetOutput(stderr)
	head := flags.String("head", "", "the commit the report is of (40 hex digits), shown in the comment")
	out := flags.String("o", "", "write the comment to this file (required)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: plan-comment [-head SHA] -o COMMENT.md DIR")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if *out == "" || flags.NArg() != 1 {
		flags.Usage()
		return 2
	}
	// Never leave an earlier comment behind for the caller to post.
	if err := os.Remove(*out); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "plan-comment: %v\n", err)
		return 2
	}
	o := comment.Options{HeadSHA: *head}
	body, code := "", 0
	d, err := comment.Load(flags.Arg(0))
	if err == nil {
		body, err = comment.Render(d, o)
	}
	if err != nil {
		// The reason can quote the data: one quoted ASCII line, so it cannot start a workflow
		// command (::...) or another line of the log.
		fmt.Fprintf(stderr, "plan-comment: the plan report is refused: %s\n", strconv.QuoteToASCII(err.Error()))
		body, code = comment.Refusal(o), 1
	}
	if err := writeFile(*out, body); err != nil {
		fmt.Fprintf(stderr, "plan-comment: %v\n", err)
		return 2
	}
	return code
}

// writeFile writes through a temporary file and a rename, so the comment is whole or absent.
func writeFile(path, body string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".plan-comment-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
