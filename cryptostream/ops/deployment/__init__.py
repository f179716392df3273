"""One operator interface for both deployments: the runbook commands read and act on a
Deployment (native supervisord, or the containers of docker/compose.yml) chosen by --docker /
--native or by what runs here. base: the interface; native and container: the two stacks;
choice: which one; processes: process trees from /proc."""
from cryptostream.ops.deployment.base import Deployment
from cryptostream.ops.deployment.choice import add_flags, choose, split_flags
from cryptostream.ops.deployment.container import ContainerDeployment
from cryptostream.ops.deployment.native import NativeDeployment

__all__ = ["ContainerDeployment", "Deployment", "NativeDeployment", "add_flags", "choose", "split_flags"]
