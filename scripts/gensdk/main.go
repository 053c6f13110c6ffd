// Command gensdk writes the Python, Node.js and Go SDKs of the pcimage Pulumi package from its schema, with the
// code generators `pulumi package gen-sdk` runs inside each language host (pkg/v3 codegen), so no language host is
// needed. Any binding diagnostic, a warning included, is a failure: a schema the generators accept with a warning
// gives SDKs that differ from what users of the published package would get.
//
//	gensdk -schema pulumi_pcimage/package/plugin/schema.json -out sdk
//
// writes sdk/python, sdk/nodejs and sdk/go (each folder replaced whole).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/blang/semver"
	"github.com/hashicorp/hcl/v2"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/nodejs"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// tool is the name the generated files say wrote them (the language hosts pass their own names).
const tool = "pulumi-pcimage-gensdk"

// generators: one per language, each given a freshly bound package (the generators record their language
// settings on it).
var generators = map[string]func(*schema.Package) (map[string][]byte, error){
	"python": func(pkg *schema.Package) (map[string][]byte, error) {
		files, err := python.GeneratePackage(tool, pkg, nil, noPackages{})
		if err != nil {
			return nil, err
		}
		// pyproject.toml's `readme` is the README.md beside it, which the generator writes only inside the
		// package folder: without this copy a built package has no description.
		for name, data := range files {
			if path.Base(name) == "README.md" && path.Dir(name) != "." && !strings.Contains(path.Dir(name), "/") {
				files["README.md"] = data
			}
		}
		return files, nil
	},
	"nodejs": func(pkg *schema.Package) (map[string][]byte, error) {
		// The local form `pulumi package add` writes too: installed from a folder (a checkout), it compiles itself
		// (package.json's postinstall runs tsc), so `npm install <checkout>/sdk/nodejs` works with nothing published.
		return nodejs.GeneratePackage(tool, pkg, nil, nil, true, noPackages{})
	},
	"go": func(pkg *schema.Package) (map[string][]byte, error) {
		return gogen.GeneratePackage(tool, pkg, nil)
	},
}

// noPackages is the loader: the schema refers to no other package (only `pulumi.json#/...` builtins, which the
// binder resolves itself), so any load is an error that names the package asked for.
type noPackages struct{}

func (noPackages) LoadPackage(name string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %q: pcimage's schema may refer to no other package", name)
}

func (l noPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return l.LoadPackage(d.Name, nil)
}

func (l noPackages) LoadPackageReference(name string, v *semver.Version) (schema.PackageReference, error) {
	_, err := l.LoadPackage(name, v)
	return nil, err
}

func (l noPackages) LoadPackageReferenceV2(
	_ context.Context, d *schema.PackageDescriptor,
) (schema.PackageReference, error) {
	return l.LoadPackageReference(d.Name, nil)
}

func bind(data []byte) (*schema.Package, error) {
	var spec schema.PackageSpec
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields() // a misspelt schema key would otherwise vanish without a word
	if err := decoder.Decode(&spec); err != nil {
		return nil, fmt.Errorf("reading the schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	if err != nil {
		return nil, fmt.Errorf("binding the schema: %w", err)
	}
	if len(diags) > 0 {
		var text strings.Builder
		for _, d := range diags {
			severity := "warning"
			if d.Severity == hcl.DiagError {
				severity = "error"
			}
			fmt.Fprintf(&text, "\n  %s: %s", severity, d.Summary)
			if d.Detail != "" {
				fmt.Fprintf(&text, " (%s)", d.Detail)
			}
		}
		return nil, fmt.Errorf("the schema binds with %d diagnostic(s), each a failure:%s", len(diags), text.String())
	}
	return pkg, nil
}

func write(folder string, files map[string][]byte) error {
	if err := os.RemoveAll(folder); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(folder, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func run(schemaPath, out string, languages []string) error {
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	for _, language := range languages {
		generate, ok := generators[language]
		if !ok {
			return fmt.Errorf("unknown language %q (python, nodejs, go)", language)
		}
		pkg, err := bind(data)
		if err != nil {
			return err
		}
		files, err := generate(pkg)
		if err != nil {
			return fmt.Errorf("generating the %s SDK: %w", language, err)
		}
		if err := write(filepath.Join(out, language), files); err != nil {
			return fmt.Errorf("writing the %s SDK: %w", language, err)
		}
		fmt.Fprintf(os.Stderr, "gensdk: %s SDK: %d files in %s\n", language, len(files), filepath.Join(out, language))
	}
	return nil
}

func main() {
	schemaPath := flag.String("schema", "", "the package schema (JSON)")
	out := flag.String("out", "", "folder to write <language>/ SDK folders into")
	languages := flag.String("languages", "python,nodejs,go", "comma-separated languages to generate")
	flag.Parse()
	if *schemaPath == "" || *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gensdk -schema SCHEMA.json -out FOLDER [-languages python,nodejs,go]")
		os.Exit(2)
	}
	if err := run(*schemaPath, *out, strings.Split(*languages, ",")); err != nil {
		fmt.Fprintf(os.Stderr, "gensdk: error: %v\n", err)
		os.Exit(1)
	}
}
