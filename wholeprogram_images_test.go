//go:build charts

package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cinegit/infrastructure/pkg/harness"
)

// pinnedImage is an image reference with a tag or a digest, never latest.
var pinnedImage = regexp.MustCompile(`^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$`)

// TestPlatformImages lists every container image the charts render for the platform (all
// three stacks), pinned, for the architecture check: the general nodes are Graviton (arm64)
// and the media nodes x86_64, and DaemonSets run on both, so every image must be a manifest
// list with linux/arm64 and linux/amd64. That needs the registries, so ci.yml's kubernetes job
// writes this list (CINEGIT_IMAGES_OUT) and runs scripts/check-image-platforms.sh on it.
func TestPlatformImages(t *testing.T) {
	dir := chartsDir()
	images := map[string]bool{}
	for _, stack := range []string{"dev", "staging", "prod"} {
		r := run(t, stack, false)
		rendered := mustRenderReleases(t, dir, r)
		for _, out := range rendered {
			for _, o := range out.Objects {
				// The operator's custom resources name the images of the pods it creates.
				if kind, _ := o["kind"].(string); kind == "Prometheus" || kind == "Alertmanager" {
					if img, ok := harness.At(map[string]any(o), "spec/image").(string); ok && img != "" {
						images[img] = true
					}
				}
				for _, path := range []string{"spec/template/spec", "spec/jobTemplate/spec/template/spec", "spec"} {
					for _, list := range []string{"containers", "initContainers"} {
						for _, c := range asSlice(harness.At(map[string]any(o), path+"/"+list)) {
							if img, ok := c.(map[string]any)["image"].(string); ok && img != "" {
								images[img] = true
							}
						}
					}
				}
			}
		}
	}
	var list []string
	for img := range images {
		if !pinnedImage.MatchString(img) || strings.HasSuffix(img, ":latest") {
			t.Errorf("image %q is not pinned to a tag or digest", img)
		}
		list = append(list, img)
	}
	slices.Sort(list)
	if len(list) < 10 {
		t.Fatalf("%d images rendered: %v", len(list), list)
	}
	if out := os.Getenv("CINEGIT_IMAGES_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d platform images", len(list))
}
