//go:build pcimage_driver

// A Go Pulumi program run by the real CLI as the Automation API runs inline programs: tests/cli builds this file
// together with an example's program.go (in place of its main.go, which only calls pulumi.Run(program)), so the
// program is this process's own function, served to `pulumi` through `--client`, and no Go language host is
// needed. `pulumi` is the one on PATH (tests/cli: the CLI under test).
//
//	driver <preview|up|refresh|destroy> <project dir> <stack> <events file> [--diff]
//
// Prints what the CLI prints; writes the engine's events (the JSON objects `pulumi ... --json` streams), one per
// line, to <events file>; exits 1 with the CLI's message when the command fails.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

func run(op, workDir, stackName, eventsFile string, diff bool) error {
	ctx := context.Background()
	command, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{SkipVersionCheck: true})
	if err != nil {
		return err
	}
	workspace, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(workDir), auto.Program(program), auto.Pulumi(command))
	if err != nil {
		return err
	}
	stack, err := auto.SelectStack(ctx, stackName, workspace)
	if err != nil {
		return err
	}

	stream := make(chan events.EngineEvent)
	var collected []events.EngineEvent
	done := make(chan struct{})
	go func() { // the Automation API closes the channel when the command ends
		for event := range stream {
			collected = append(collected, event)
		}
		close(done)
	}()
	switch op {
	case "preview":
		options := []optpreview.Option{optpreview.EventStreams(stream), optpreview.ProgressStreams(os.Stdout)}
		if diff {
			options = append(options, optpreview.Diff())
		}
		_, err = stack.Preview(ctx, options...)
	case "up":
		options := []optup.Option{optup.EventStreams(stream), optup.ProgressStreams(os.Stdout)}
		if diff {
			options = append(options, optup.Diff())
		}
		_, err = stack.Up(ctx, options...)
	case "refresh":
		_, err = stack.Refresh(ctx, optrefresh.EventStreams(stream), optrefresh.ProgressStreams(os.Stdout))
	case "destroy":
		_, err = stack.Destroy(ctx, optdestroy.EventStreams(stream), optdestroy.ProgressStreams(os.Stdout))
	default:
		close(stream)
		err = fmt.Errorf("unknown command %q", op)
	}
	<-done

	file, createErr := os.Create(eventsFile)
	if createErr != nil {
		return createErr
	}
	defer file.Close()
	encoder := json.NewEncoder(file)
	for _, event := range collected {
		if event.Error != nil {
			continue
		}
		if encodeErr := encoder.Encode(event.EngineEvent); encodeErr != nil {
			return encodeErr
		}
	}
	return err
}

func main() {
	if len(os.Args) < 5 || len(os.Args) > 6 {
		fmt.Fprintln(os.Stderr, "usage: driver <preview|up|refresh|destroy> <project dir> <stack> <events file> [--diff]")
		os.Exit(2)
	}
	diff := len(os.Args) == 6 && os.Args[5] == "--diff"
	if err := run(os.Args[1], os.Args[2], os.Args[3], os.Args[4], diff); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
