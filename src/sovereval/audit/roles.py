"""Canonical roles: map checkpoint tensor names (HF, GGUF, BERT, GPT-2, multimodal) to one vocabulary.

A canonical key reads ``<tower>.<where>.<role>``: ``text.embed``, ``text.L12.attn.q``,
``text.L3.norm.mlp_in``, ``vision.L0.mlp.up``, ``projector.p0.linear``.  Components (the unit a
verdict is attached to) are derived from keys: ``embedding``, ``blocks``, ``lm_head``, ``norms``
(inside blocks), ``vision``, ``audio``, ``projector``, ``position`` (anchored axes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# suffix (after the layer index) -> role, checked in order; first match wins
_BLOCK_ROLES: tuple[tuple[str, str], ...] = (
    # GGUF
    (r"^attn_qkv\.weight$", "attn.qkv"), (r"^attn_q\.weight$", "attn.q"), (r"^attn_k\.weight$", "attn.k"),
    (r"^attn_v\.weight$", "attn.v"), (r"^attn_output\.weight$", "attn.o"),
    (r"^attn_q\.bias$", "attn.q.bias"), (r"^attn_k\.bias$", "attn.k.bias"), (r"^attn_v\.bias$", "attn.v.bias"),
    (r"^ffn_gate\.weight$", "mlp.gate"), (r"^ffn_up\.weight$", "mlp.up"), (r"^ffn_down\.weight$", "mlp.down"),
    (r"^ffn_gate_inp\.weight$", "router"), (r"^ffn_gate_exps\.weight$", "experts.gate"),
    (r"^ffn_up_exps\.weight$", "experts.up"), (r"^ffn_down_exps\.weight$", "experts.down"),
    (r"^attn_norm\.weight$", "norm.attn_in"), (r"^ffn_norm\.weight$", "norm.mlp_in"),
    (r"^post_attention_norm\.weight$", "norm.attn_out"), (r"^post_ffw_norm\.weight$", "norm.mlp_out"),
    (r"^attn_q_norm\.weight$", "norm.q"), (r"^attn_k_norm\.weight$", "norm.k"),
    # HF Llama / Qwen / Mistral / Gemma
    (r"self_attn\.qkv_proj\.weight$", "attn.qkv"), (r"self_attn\.q_proj\.weight$", "attn.q"),
    (r"self_attn\.k_proj\.weight$", "attn.k"), (r"self_attn\.v_proj\.weight$", "attn.v"),
    (r"self_attn\.o_proj\.weight$", "attn.o"), (r"self_attn\.q_proj\.bias$", "attn.q.bias"),
    (r"self_attn\.k_proj\.bias$", "attn.k.bias"), (r"self_attn\.v_proj\.bias$", "attn.v.bias"),
    (r"self_attn\.q_norm\.weight$", "norm.q"), (r"self_attn\.k_norm\.weight$", "norm.k"),
    (r"mlp\.gate_up_proj\.weight$", "mlp.gate_up"), (r"mlp\.gate_proj\.weight$", "mlp.gate"),
    (r"mlp\.up_proj\.weight$", "mlp.up"), (r"mlp\.down_proj\.weight$", "mlp.down"),
    (r"mlp\.gate\.weight$", "router"), (r"experts\.(\d+)\.gate_proj\.weight$", "expert{0}.gate"),
    (r"experts\.(\d+)\.up_proj\.weight$", "expert{0}.up"), (r"experts\.(\d+)\.down_proj\.weight$", "expert{0}.down"),
    (r"^input_layernorm\.weight$", "norm.attn_in"), (r"^pre_feedforward_layernorm\.weight$", "norm.mlp_in"),
    (r"^post_feedforward_layernorm\.weight$", "norm.mlp_out"),
    (r"^post_attention_layernorm\.weight$", "norm.post_attention"),  # resolved per architecture
    # BERT
    (r"attention\.self\.query\.weight$", "attn.q"), (r"attention\.self\.key\.weight$", "attn.k"),
    (r"attention\.self\.value\.weight$", "attn.v"), (r"attention\.output\.dense\.weight$", "attn.o"),
    (r"attention\.self\.query\.bias$", "attn.q.bias"), (r"attention\.self\.key\.bias$", "attn.k.bias"),
    (r"attention\.self\.value\.bias$", "attn.v.bias"), (r"attention\.output\.dense\.bias$", "attn.o.bias"),
    (r"attention\.output\.LayerNorm\.weight$", "norm.attn_out"),
    (r"attention\.output\.LayerNorm\.bias$", "norm.attn_out.bias"),
    (r"intermediate\.dense\.weight$", "mlp.up"), (r"intermediate\.dense\.bias$", "mlp.up.bias"),
    (r"^output\.dense\.weight$", "mlp.down"), (r"^output\.dense\.bias$", "mlp.down.bias"),
    (r"^output\.LayerNorm\.weight$", "norm.mlp_out"), (r"^output\.LayerNorm\.bias$", "norm.mlp_out.bias"),
    # GPT-2 (Conv1D: stored transposed)
    (r"^attn\.c_attn\.weight$", "attn.qkv^T"), (r"^attn\.c_proj\.weight$", "attn.o^T"),
    (r"^mlp\.c_fc\.weight$", "mlp.up^T"), (r"^mlp\.c_proj\.weight$", "mlp.down^T"),
    (r"^ln_1\.weight$", "norm.attn_in"), (r"^ln_2\.weight$", "norm.mlp_in"),
    # generic vision / audio blocks
    (r"attn\.qkv\.weight$", "attn.qkv"), (r"attn\.proj\.weight$", "attn.o"),
    (r"(?:mlp|ffn)\.fc1\.weight$", "mlp.up"), (r"(?:mlp|ffn)\.fc2\.weight$", "mlp.down"),
    (r"norm1\.weight$", "norm.attn_in"), (r"norm2\.weight$", "norm.mlp_in"),
)  # fmt: skip

_TOP_ROLES: tuple[tuple[str, str], ...] = (
    (r"^token_embd\.weight$", "embed"), (r"^output\.weight$", "lm_head"), (r"^output_norm\.weight$", "final_norm"),
    (r"embed_tokens\.weight$", "embed"), (r"^lm_head\.weight$", "lm_head"), (r"^norm\.weight$", "final_norm"),
    (r"embeddings\.word_embeddings\.weight$", "embed"), (r"embeddings\.position_embeddings\.weight$", "pos_embed"),
    (r"embeddings\.token_type_embeddings\.weight$", "type_embed"),
    (r"embeddings\.LayerNorm\.weight$", "embed_norm"), (r"embeddings\.LayerNorm\.bias$", "embed_norm.bias"),
    (r"^pooler\.dense\.weight$", "pooler"), (r"^pooler\.dense\.bias$", "pooler.bias"),
    (r"^wte\.weight$", "embed"), (r"^wpe\.weight$", "pos_embed"), (r"^ln_f\.weight$", "final_norm"),
    (r"patch_embed\.proj\.weight$", "patch_embed"), (r"patch_embedding\.weight$", "patch_embed"),
    (r"position_embedding\.weight$", "pos_embed"), (r"post_layernorm\.weight$", "final_norm"),
)  # fmt: skip

_STRIP = re.compile(r"^(?:model\.|transformer\.|bert\.|language_model\.|text_model\.|encoder\.(?=layer\.))+")
_LAYER = re.compile(r"(?:^|\.)(?:layers|layer|blocks|blk|h)\.(\d+)\.(.+)$")
_TOWERS: tuple[tuple[str, str], ...] = (
    (r"(?:^|\.)(?:vision_tower|vision_model|visual|vision_encoder|v\.)", "vision"),
    (r"(?:^|\.)(?:audio_tower|audio_model|audio_encoder|a\.)", "audio"),
    (r"(?:multi_modal_projector|mm_projector|merger|mm\.)", "projector"),
)

ANCHORED_ROLES = frozenset({"pos_embed", "type_embed", "patch_embed"})
MATRIX_ROLES = ("attn.q", "attn.k", "attn.v", "attn.o", "mlp.gate", "mlp.up", "mlp.down")


@dataclass(frozen=True)
class RoleName:
    tower: str  # text | vision | audio | projector
    layer: int | None
    role: str  # e.g. attn.q, norm.mlp_in, embed; "^T" suffix: stored transposed
    expert: int | None = None

    @property
    def key(self) -> str:
        where = f"L{self.layer}." if self.layer is not None else ""
        return f"{self.tower}.{where}{self.role.removesuffix('^T')}"


def classify(name: str) -> RoleName | None:
    """Map a tensor name to its canonical role, or None when unknown (reported, never compared)."""
    tower = "text"
    rest = name
    for pat, tw in _TOWERS:
        m = re.search(pat, rest)
        if m:
            tower = tw
            rest = rest[m.end() :].lstrip(".")
            break
    rest = _STRIP.sub("", rest)
    m = _LAYER.search(rest)
    if m:
        layer, suffix = int(m.group(1)), m.group(2)
        for pat, role in _BLOCK_ROLES:
            mm = re.search(pat, suffix)
            if mm:
                expert = int(mm.group(1)) if mm.groups() else None
                return RoleName(tower, layer, role.format(*mm.groups()), expert)
        if tower != "text":
            return RoleName(tower, layer, "other:" + suffix.removesuffix(".weight"))
        return None
    for pat, role in _TOP_ROLES:
        if re.search(pat, rest):
            return RoleName(tower, None, role)
    if tower != "text":
        return RoleName(tower, None, "other:" + rest.removesuffix(".weight"))
    return None


def component_of(key: str) -> str:
    """The verdict unit of a canonical key."""
    tower, _, rest = key.partition(".")
    if tower != "text":
        return tower
    role = rest.split(".", 1)[1] if rest.startswith("L") and "." in rest else rest
    if role in ANCHORED_ROLES:
        return "position"
    if role.startswith("embed"):
        return "embedding"
    if role == "lm_head":
        return "lm_head"
    if role.startswith(("final_norm", "pooler")):
        return "head_misc"
    return "blocks"


def parse_key(key: str) -> tuple[str, int | None, str]:
    """(tower, layer, role) from a canonical key."""
    tower, _, rest = key.partition(".")
    m = re.match(r"^L(\d+)\.(.+)$", rest)
    if m:
        return tower, int(m.group(1)), m.group(2)
    return tower, None, rest


def is_norm(role: str) -> bool:
    return (role.startswith("norm.") or role in ("final_norm", "embed_norm")) and not role.endswith(".bias")


def unpermute_llama_gguf(w: np.ndarray, n_head: int) -> np.ndarray:
    """Undo llama.cpp's Q/K row permutation (``convert_hf_to_gguf.py: LlamaModel.permute``)."""
    rows = w.shape[0]
    if rows % (2 * n_head):
        raise ValueError(f"cannot unpermute {rows} rows over {n_head} heads")
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def permute_llama_gguf(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's HF→GGUF Q/K row permutation (the inverse of :func:`unpermute_llama_gguf`)."""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

