"""A judge as the reward of a policy, and the hardened reward server."""
