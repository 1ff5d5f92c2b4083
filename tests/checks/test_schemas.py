"""The common-signature schemas: shipped in the package, valid, and usable on their own."""

from __future__ import annotations

import json
from importlib import resources

import jsonschema
import pytest

from hubpub.checks import schemas
from hubpub.errors import SpecError


@pytest.mark.parametrize("name", schemas.BUILTIN_SCHEMAS)
def test_builtin_schema_is_package_data_and_valid_for_its_metaschema(name):
    assert resources.files("hubpub.signatures").joinpath(f"{name}.json").is_file()
    schema = schemas.load_schema(name)
    jsonschema.validators.validator_for(schema).check_schema(schema)
    assert schema["title"] == name


IMAGES = {"kind": "dense", "dtype": "float32", "shape": [None, 224, 224, 3]}
FEATURES = {"kind": "dense", "dtype": "float32", "shape": [None, 1280]}


@pytest.mark.parametrize("document, expected", [
    ({"inputs": {"images": IMAGES}, "outputs": {"default": FEATURES, "extra": FEATURES},
      "attachments": {}}, None),
    ({"inputs": {"images": {**IMAGES, "shape": [None, None, None, 3]}},
      "outputs": {"default": FEATURES},
      "attachments": {"image_module_info": {"height": 224, "width": 224}}}, None),
    ({"inputs": {"images": {**IMAGES, "shape": [None, 224, 224, 1]}},
      "outputs": {"default": FEATURES}, "attachments": {}},
     "input 'images' shape[3]: 3 was expected (image inputs have 3 channels (RGB))"),
    ({"inputs": {"images": IMAGES, "training": {"kind": "dense", "dtype": "bool", "shape": []}},
      "outputs": {"default": FEATURES}, "attachments": {}},
     "inputs: Additional properties are not allowed ('training' was unexpected) (the only "
     "input is 'images' (consumers call the signature with one tensor))"),
    ({"inputs": {"images": IMAGES}, "outputs": {"default": {**FEATURES, "shape": None}},
      "attachments": {}},
     "output 'default' shape: None is not of type 'array' (the default output has shape "
     "[batch, num_features])"),
    ({"inputs": {"images": {**IMAGES, "shape": [None, None, 224, 3]}},
      "outputs": {"default": FEATURES},
      "attachments": {"image_module_info": {"height": 0, "width": 224}}},
     "attachment image_module_info height: 0 is less than the minimum of 1 "
     "(image_module_info.default_image_size.height must be set)"),
], ids=["ok-extra-output", "ok-variable-size-attached", "one-channel", "extra-input",
        "unknown-rank-output", "unset-attachment"])
def test_image_feature_vector_contract(document, expected):
    error = schemas.find_error(document, schemas.load_schema("image_feature_vector"))
    assert (None if error is None else schemas.describe_error(error)) == expected


def test_unknown_builtin_name():
    with pytest.raises(SpecError, match="unknown common signature 'image_features'; use one of"):
        schemas.load_claimed_schema("image_features")


def test_publisher_schema_files(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"required": ["outputs"]}))
    assert schemas.load_claimed_schema(str(good)) == ("good.json", {"required": ["outputs"]})
    broken = tmp_path / "broken.json"
    broken.write_text('{"type": 12}')
    with pytest.raises(SpecError, match="broken.json: not a valid JSON Schema"):
        schemas.load_schema_file(broken)
    broken.write_text("{\n  nope")
    with pytest.raises(SpecError, match=r"broken.json:2:3: signature schema is not valid JSON"):
        schemas.load_schema_file(broken)
