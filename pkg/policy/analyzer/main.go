package analyzer

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Main is the plugin's command line: `self-check <pack dir>`, or, as the engine starts it,
// `<engine address> <pack dir>`: serve the analyzer on a free loopback port and print the
// port on the first line of output.
func Main(args []string) error {
	if len(args) == 2 && args[0] == "self-check" {
		if err := SelfCheck(context.Background(), args[1]); err != nil {
			return fmt.Errorf("self-check: %w", err)
		}
		fmt.Println("pulumi-analyzer-policy-cinegit: self-check passed")
		return nil
	}
	version, err := Version()
	if err != nil {
		return err
	}
	srv, err := NewServer(version)
	if err != nil {
		return err
	}
	h, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{Init: func(s *grpc.Server) error {
		pulumirpc.RegisterAnalyzerServer(s, srv)
		return nil
	}})
	if err != nil {
		return err
	}
	fmt.Printf("%d\n", h.Port)
	return <-h.Done
}
