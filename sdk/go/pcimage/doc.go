// AWS ParallelCluster custom images (AMIs) built through the ParallelCluster API.
package pcimage
