"""Time `hubpub docs` rendering for a large module: 1,000 variables and 20 signatures.

Target: the page renders in under a second once the module is loaded (issue 6). Building the
graph and reading it are not timed; the summary and each format's rendering are, separately.

    python bench/bench_docs.py [--variables N] [--signatures N] [--repeat N]
"""

from __future__ import annotations

import argparse
import time

from hubpub._tf import tf
from hubpub.docs.meta import DocMeta
from hubpub.docs.render import FORMATS, render_docs, render_summary
from hubpub.docs.summary import summarize
from hubpub.spec.view import ModuleView


def build_saved_model(num_variables: int, num_signatures: int):
    """Two variants (train, default); variables spread over the signatures' dense layers."""
    from tensorflow.core.protobuf import saved_model_pb2

    v1 = tf.compat.v1
    saved_model = saved_model_pb2.SavedModel()
    for tags in (["train"], []):
        graph = tf.Graph()
        with graph.as_default():
            outputs = []
            variables = [v1.get_variable(f"block{i // 10}/layer{i % 10}/kernel", [8, 8])
                         for i in range(num_variables)]
            inputs = []
            for s in range(num_signatures):
                x = v1.placeholder(tf.float32, [None, 8], name=f"input{s}")
                y = x
                for var in variables[s::num_signatures]:
                    y = tf.matmul(y, var)
                inputs.append(x)
                outputs.append(y)
            meta = v1.train.export_meta_graph(graph=graph, strip_default_attrs=True)
            meta.meta_info_def.tags.extend(tags)
            for s, (x, y) in enumerate(zip(inputs, outputs, strict=True)):
                sig = meta.signature_def["default" if s == 0 else f"signature_{s:02d}"]
                sig.inputs["features"].CopyFrom(v1.saved_model.build_tensor_info(x))
                sig.outputs["default"].CopyFrom(v1.saved_model.build_tensor_info(y))
                sig.outputs["logits"].CopyFrom(v1.saved_model.build_tensor_info(2.0 * y))
        saved_model.meta_graphs.add().CopyFrom(meta)
    return saved_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variables", type=int, default=1000)
    parser.add_argument("--signatures", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    saved_model = build_saved_model(args.variables, args.signatures)
    view = ModuleView.from_saved_model(saved_model)
    meta = DocMeta.from_handle("acme/big/1", description="A large module.", license="MIT",
                               fine_tunable=True, task="image-feature-vector",
                               asset_path="https://example.com/big.tar.gz")
    print(f"module: {args.variables} variables x 2 variants, {args.signatures} signatures, "
          f"{sum(len(mg.graph_def.node) for mg in saved_model.meta_graphs)} nodes")

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    summary = summarize(view)
    print(f"summarize (first, builds the view's indexes): "
          f"{best(lambda: summarize(ModuleView.from_saved_model(saved_model))):.3f} s")
    print(f"summarize (view indexed):                     {best(lambda: summarize(view)):.3f} s")
    for fmt in FORMATS:
        seconds = best(lambda fmt=fmt: render_summary(summary, meta, fmt=fmt))
        size = sum(len(t) for t in render_summary(summary, meta, fmt=fmt).values())
        print(f"render {fmt:<9} from the summary:            {seconds:.3f} s ({size:,} chars)")
    total = best(lambda: render_docs(ModuleView.from_saved_model(saved_model), meta))
    verdict = "OK" if total < 1.0 else "OVER TARGET"
    print(f"render_docs markdown, fresh view, end to end:  {total:.3f} s  "
          f"(target < 1 s: {verdict})")


if __name__ == "__main__":
    main()
