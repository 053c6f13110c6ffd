// One ParallelCluster custom image, built from the newest official image of the chosen OS (program.go).
package main

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

func main() {
	pulumi.Run(program)
}
