from loom.applications import resnet_v2


def test_pooling_layers_are_named_as_keras():
    model = resnet_v2.ResNet50V2(weights=None, include_top=False, pooling="avg")
    assert model.layers[-1].name == "avg_pool" and model.layers[-3].name == "post_bn"
