"""The real suites, declared against the pinned copies in ``../shared/benchmarks`` (see each SOURCE.md).

Each declaration names the original whose prompt it reproduces (``template.follows``) and any deliberate
deviation.  Multiple-choice benchmarks default to log-likelihood scoring where the original scores that
way; a ``-gen`` variant (free-text answer, robust letter extraction) exists where the original or a
widely used harness has a generative form.  GSM8K and MATH-500 are generative.

Licences differ (see shared/benchmarks/README.md): CLIcK states none (research use only, load from a
path, never bundle); KMMLU is CC-BY-ND (verbatim files only); ARC and KoBEST are CC-BY-SA.
"""

from __future__ import annotations

from sovereval.bench.judge.prompts import TRUTHFULQA_QA_PRIMER
from sovereval.bench.spec import (
    BenchmarkDecl,
    FewShot,
    FieldMap,
    FileRef,
    LocalFiles,
    ScorerRef,
    Template,
    local,
)
from sovereval.bench.types import Sampling

DOMESTIC = "domestic"
GLOBAL = "global_common"


def _loglik(metric: str = "acc", norm_by: str = "continuation") -> ScorerRef:
    return ScorerRef(name="mcq_loglik", params={"metric": metric, "norm_by": norm_by})


_GEN_MCQ = ScorerRef(name="mcq_generate")

# sha256 per file, copied from shared/benchmarks/*/SOURCE.md (checked on every load)
_MMLU_TEST = {
    "abstract_algebra": "afdfc6f71eb42297a51f53bd221429671a4065a6425bd7631acb84fef011bfd4",
    "anatomy": "b27ce42f40482ba735cf0de8e8bbba3382d506c099d8483c55e9cacdac4e3eec",
    "astronomy": "1008ecdf7f88a336001b04f739f3fcfff72b3e15fb746880ace2d05f0002c957",
    "business_ethics": "7ce6063b0ed2ba08ac51cc94be1708ce91aeecd17f71cabbb2f86b4e80f3876a",
    "clinical_knowledge": "9ba57061f15ae7263a12eeb413b73d876038e0ce21734ffce411e1ae22662737",
    "college_biology": "872bae5fe76cecb083603a7ba95adc436a8e345f50c5ee232cc8bfa9f9f56713",
    "college_chemistry": "6335fe0f7da7a3ec76a9067869445253111080261df1c560a2527df01f34ae67",
    "college_computer_science": "f06e071452389e4a9f0aa7c5bc07401b282ffd659f9ec08c2d301b1fca471024",
    "college_mathematics": "2929eb3851fa6f37de8188f0a7fa817bec44fb5f5a04efa06f89ea272eae2f0b",
    "college_medicine": "65876236acf78e813e62b78cdc2217c2651785324b8c51148aaffa6d89436d0d",
    "college_physics": "3f67202a7a62da0f0ab3028e0a0cf26a3cffc041283044f51f3e058258eab281",
    "computer_security": "f4b8b8f107144acd0c2b343553986c161a759cd459706cb72f9bb72752655162",
    "conceptual_physics": "7186a0cdcd18dff2183dbd26d44f2d59d01f42687092e1229088735d508c06e1",
    "econometrics": "13f21181bb3a26bfd290284ab80850f9c1e1ba90f00df6f17112b8c68e934cee",
    "electrical_engineering": "d78bba02efa107c61a82f2f82ee93e99366f5626fdf772a03eb3b749073cd1c1",
    "elementary_mathematics": "701d8bbc120fd210a309f5e43c9cbfca8e1f01f6b9a26f43f669f0d29acc45ef",
    "formal_logic": "c72df82993166fc1c9b3f145964b1b4791ce512c0d3f22919e9b46aaea17ef4b",
    "global_facts": "b80c9b31bc56727ebb3f1f980fbf40dbbd48565f609d1be9642ebe10a1c747a2",
    "high_school_biology": "4ffe58996b33947fae8f374124c20f95560b773cbd3c9cafea0a3e90bcf4140b",
    "high_school_chemistry": "42dcc80210a4cd861529e2cbaa04584d1d1cfd32d5515b385343df724d37408f",
    "high_school_computer_science": "3865e92ef308c42ad7d653301647c6cd5bfa6d67f20c9fbbdfe14c2c1eb5bbbc",
    "high_school_european_history": "696d4b82f27792ac04915a7f6822370b4a42133fcd83c9a13fe5d74aaba37fbb",
    "high_school_geography": "4c0c06e32b73ec3f5b55bdab2a124b3b9736e888d2edadc6f40d6172052f7507",
    "high_school_government_and_politics": "a3e20fbcff3bb0bdc613db7b56257c4e72d83d6e04e60db25c84e81d8c70a7d2",
    "high_school_macroeconomics": "a06fba67bf6b92e5174d049fdb484df8c6e663586a910e725e195ebf43116b9c",
    "high_school_mathematics": "56b119f139ba07c0e2a9616e60397e3415cdca1532ae217ac6d8fd1bddfc96f7",
    "high_school_microeconomics": "a6acbf0d864e51540e0c219e433dc0f54a56d8a35255bf294d4de8d09b7ef00d",
    "high_school_physics": "e5258c55a5e67a62c26fa0d2564b5263b69d38810e51204c59017789a771e253",
    "high_school_psychology": "c7aabf2ccfee7489bf1494cfa1504a679eb69e27caa7d64bd1e9e63cff5c3fe9",
    "high_school_statistics": "c305647bc50d6e049ab0d33e79a3455a964421a54023ba14fa6b3c72e19a8d1d",
    "high_school_us_history": "cd6c60e147dd70dde6b523c6ca0be07a78f7a1be7492278aa06641bc1f12680e",
    "high_school_world_history": "cb083c69f1a4efb316ea8645899872d2528d55a7bf7cad1d625fcf369db0e943",
    "human_aging": "ce44b96c0d5bb9f0491f34a6b30d8feb2e82092e5f094990a9632b67bf75277b",
    "human_sexuality": "98af8223edc66de68cfd9dfb18e19a65b94ad1559204f3f239ebb227112732f6",
    "international_law": "e4fb345f044b54ef01ddda7126b61c328202cf0160e8f27831f082cc63da8ed9",
    "jurisprudence": "26780d8e35636af29b00b26b808d43aa466d9c06fa7b27a9b4c753b335883286",
    "logical_fallacies": "f40e1e6098a69cd8511c009f024c7d7caaad4a2f7cb9501be5a377167a5def60",
    "machine_learning": "50d163266dbc8672b8097c32a4765ff4a5e8767ac4a8971e70ddccbd5b817bd3",
    "management": "423261b2633e20df5b4febfba4ecc7366917cdbabdb7e3ede4b1be98adf5dce5",
    "marketing": "1853316726e9fa72eba8d74a67fc45da9a2c7ed1cb892496359d87426a7f7c8a",
    "medical_genetics": "b330e63b2e60345285490ff495d5f4aea1981d738cc303c559903ec1c12238c1",
    "miscellaneous": "58f67b35c1890985ccdd1c6b4e9a4e8bfd4f8e0e5fadf5726860ae789c65d5e8",
    "moral_disputes": "2f3379380a469cbc2ed5d03372bae01306a19c65d053cc638435b92808b439f2",
    "moral_scenarios": "1776d1bf56388452ef80112bb1b5e94a6017abcb79b11540927e98f92cee8fba",
    "nutrition": "acb668e8064655eab8869d8cc65ebc40af39acfe6eb40e0e1a83dfb87bffdc2a",
    "philosophy": "74576271e2f9e3a01b4c437209323e833fb09a4e3a79217b16caa65e94ee8ba0",
    "prehistory": "5ff0349229f3bddf399ec0bf2c28c46a32d18997dd4bd93436702ba8bfccba78",
    "professional_accounting": "728c6030e2e2e882a73305279b149b34b44c8f0203bdf6c5c75d48602bfb883a",
    "professional_law": "59884277f245b8332d6d02ba16fdefd7ca5bdc7ed51dca5f19147094f087c28d",
    "professional_medicine": "3490aa679090fdfd94f1a887219f2a85bb4028f4d0e6d49d6242fb9a99b846a1",
    "professional_psychology": "5a3847f67470bff48c551dc80ac2a272a4378311d988ba5cad6325ba5d94e779",
    "public_relations": "6f12b33facda9e0ab191debe3fb638d86c61c66a6205ed333b0890815f53b9be",
    "security_studies": "df86d642637dcada2f62ccb793739d0d6384552616c11bb3941d201cf3ab4ef1",
    "sociology": "7ee6baaa0082e04a03a64a722ab50b495edb49c26306e850a49e26b1a4edc88d",
    "us_foreign_policy": "5fbff75d8a6f1bfa1e4ca696a2db9ffbf11e3b97809ab97c00c813b96bd27e08",
    "virology": "cfb95d550d800b600a1d802bdb4ab4b5018b168d74f87af5fdbea5b623d279c1",
    "world_religions": "203c71d35b4d667a4010b032ad57cc75a561209c94e2235eb5c549310bf23789",
}
_MMLU_DEV = {
    "abstract_algebra": "f5bc2f1c0e4098ddba357af2b02919269b1a0bbab9e7c11b31c1c20da36a3263",
    "anatomy": "44f3842ff1451edabb6356feb452e7fa36fa60f71b857e1a768b4833f23c167c",
    "astronomy": "0a6f1573c324bcef3684933833f273b12f1b22c7a05eefc3bb5b2e38d8eaa034",
    "business_ethics": "27987aed70d9550924d6af037c38597bfd67a4fe9513814cac0d052ab9a8e048",
    "clinical_knowledge": "f2fb6824881a33ebaafe79d4c0ce6a930807d8eafe4cb2beb44132af55e2e1ea",
    "college_biology": "450fe9d4b89b9e8909c45276e284f8ebaa6ec158046d1e0e0ad60585a6231bd5",
    "college_chemistry": "94d6391dc090c327add1fb351de67876be8a530ae0b53b019233a5992940e5f5",
    "college_computer_science": "3c5cf94f26d6bfa8c19df7df3214032f95d29139f6018f03d99f92f6db637d52",
    "college_mathematics": "acc7b15a61aa4a069237a7841db7154eef6baf707a49e9c8f39fcf4735aaf459",
    "college_medicine": "bb192ae79ca686b5f383ef49b3a196f0531e269f0b5743429198b1766741b4de",
    "college_physics": "9918560ec781b0fb0aaa46d165b899f03bd5d933c24106ed7cf8cd4543a775f2",
    "computer_security": "029054135a2122654866880966bb9c81b16b1301caae5a1d18092093b223caa7",
    "conceptual_physics": "bac7a74663e5f892418034692895176873f0a6560cd2512c71da6994c7437337",
    "econometrics": "77980477843f293d2cca9d9d05f2c4d46b5d9e31393a6456378a082f23d74847",
    "electrical_engineering": "a7283d58a362697323fb49e80bbb047004596c44e21aad2b5afa66e8081b9760",
    "elementary_mathematics": "ca4a3213aa3171042ee6b428600bc72e1d7d07e3026ed2ef12e96254916bba48",
    "formal_logic": "9e8985f49563f9817a76a715358c501fb8c263ade6a7c1af47e1f90f1dd11513",
    "global_facts": "6b3da0cce9ff48e7357783ad7390c488eb07bc26d00a3ceb42c81e2cd2e671b9",
    "high_school_biology": "18b65297f30fb31daddde1f69f07aabdbd9013830436888f9c9b410ac2153aa1",
    "high_school_chemistry": "359ab179e37c5c0475636e771877ef16af4d5df27dc0f07f9a5c0783790ba916",
    "high_school_computer_science": "e012aba074b95dcdf9875ef956e6800da5193ee1afe409dd6e9d71beebb8129d",
    "high_school_european_history": "8165a942ee996813de76199cc08cdddcee26128e09c99c9ecd014fed8f9a6fc6",
    "high_school_geography": "55d2bcd20524a0d0c8b39fb9b48aec36adfdb93ca2009271a58cc02d60fc89e3",
    "high_school_government_and_politics": "631449be21ebdc3cf14ee6399b0a463c7b3990506ca6a97079e6c1888954be27",
    "high_school_macroeconomics": "a8326c37a99fa81631b539cb66823b08c18990a94276f60d1a2c1af78cc21d4d",
    "high_school_mathematics": "36aa098c79f22f75415dd74c306de1faa07082257ed9fa8fe650111f78b35d74",
    "high_school_microeconomics": "023578120d0c4b9e3c317dffcca4552494fbfc9ed1dd4daff3f2e7a4b9ca2573",
    "high_school_physics": "fd3f3c1153270806012fbdbf9b5dedde4e63527f1b4a423cdfae521ac405fd4e",
    "high_school_psychology": "3a055107cbe9855a68483c2a8f816aada2294a9b1c078365e88c91ed62bec745",
    "high_school_statistics": "7948fd0d32ff30ac414c97928895da40990519c702768eb293d5f01a8d6261f7",
    "high_school_us_history": "df7936a6c422e655f9f79c432595b87232fef93c3b13e7feb74d2e7060b560b1",
    "high_school_world_history": "ae90f590e6452acac0b517e13b2ec285ac00004f46094fe68748fee98e496178",
    "human_aging": "eaf8402a34af0529feed70d52eb0a4a4c707205609005e8267bdade008ca1728",
    "human_sexuality": "0800691d14de81e90be7a949be3bda268731997590bd3d9a5a14b15e88d8cdf8",
    "international_law": "712493120d7112ca187666ef8ff75886a9dfdae3aeac9b5e6a309d0c6a8c7265",
    "jurisprudence": "67bf7563f8b90c6682e716ff1faada4be62be12ec967c8d03c4d7cac99d01158",
    "logical_fallacies": "721672e4daf2ea761545776077c4825d90b2132ed847126fdf9b21f1b594da43",
    "machine_learning": "25b78353edd62f6b4d17fe6e2ea391018c23e61e2a0fe6e8807eb32cea2561af",
    "management": "bb5b1bffac34f751762e98ff6185b523202b62f42081f6b13df79b37a445254c",
    "marketing": "c3ea3899945cb1e49da36c5693fba97bbcea7029a1087843e976a987091b2311",
    "medical_genetics": "a7cc3670c44f8c09c157476ffe1863b9e8fe1c4113d2fea9bc557b22ecb5f374",
    "miscellaneous": "deee26422c1befff224f0da1a587c2a6051252c290e8f6ac40feaed2a7683429",
    "moral_disputes": "ce86707de1a10887c14abfaedc3daa6a6b19fa5d0216c2fc593cf8dc54c21e56",
    "moral_scenarios": "d6c0dcd5f9fe19c5bbb8de7d3218428c587b96f932498a44820a21d55c2917ed",
    "nutrition": "da8a99b9a9ecdc79b880c7ebaa59b30eb2f5bb043336932f7b0fb3cecaf3b8ae",
    "philosophy": "42d9b8146f5dda534ad75bac24defcc9e41d61957cdfd9060c79d837274eccdd",
    "prehistory": "e7efa2839f8151b0de1284c21023ae9f7de8589ac5f3a6e44225d46cc5d07e79",
    "professional_accounting": "8a27c1e2ca406f477d7755b30fea6e4affb9ec64285c57b47aa847812ce7b79d",
    "professional_law": "0814eebe7943bfb5aa927a494b20f029a2383499fa2250a14e9b19eb6dc77199",
    "professional_medicine": "510bd154f87714cfc9b09fef10bda4789237ddf703198c476dac684b491f2382",
    "professional_psychology": "e1db35cdee39b0266295a5f960c6eeaa6600357b03b0d842df3d0ca5292b2b1a",
    "public_relations": "8d9a821e0ea6a03da946b96e3031c999e52f0baaf51f1fa2fbb05924971e402f",
    "security_studies": "128a6ccb816854ce8973888e43cefb3b21c106ba425fa93bd80dee4590e9ff16",
    "sociology": "6221f18fd45181970c705606c7692e7218fc1aee33970fd55cd432ddfd6fe320",
    "us_foreign_policy": "e75e2e201b5eeb949de35640c58f107bbeba4e7d53acf88688eec27b1e2b69c2",
    "virology": "a32c63aaefafbf4227326b9701c986d40c979fb2169b3d67be7ac1f7758a8357",
    "world_religions": "13404d8d076006e6c4aa13cd05a7ff4691be0e59b7630bdf7e9826244464ecdd",
}
_CLICK = (
    ("click/Dataset/Culture/Korean Economy/Economy_KIIP.json",
     "a898f66feb0b071f95405b0666bfcb1335f948c72a5ade94d9588b6b42ba7df7"),
    ("click/Dataset/Culture/Korean Economy/Economy_Kedu.json",
     "1498a8182a191e73d58ea36e75de252b868e24ab0aec879c29e4d10bd36c032a"),
    ("click/Dataset/Culture/Korean Geography/Geography_CSAT.json",
     "3afba9203269d16274ad3e75094816d5e737515f8415aa15e7bae608599648f7"),
    ("click/Dataset/Culture/Korean Geography/Geography_KIIP.json",
     "196f26ad41a030eec237e5f7850670fbef403652b4856aaa71274281ee5a271c"),
    ("click/Dataset/Culture/Korean Geography/Geography_Kedu.json",
     "22ffac1e57bb90de256bd3f6fd93762899847812adaacf31fa1e1b0881e09d2f"),
    ("click/Dataset/Culture/Korean History/History_KHB.json",
     "fa4476af3b09b8b91f476f046ae58b0225020101bc5ec8397dfb1ce3e71a4ddd"),
    ("click/Dataset/Culture/Korean History/History_Kedu.json",
     "a3d387078de966188e331c014f0a79112eb72b3211fea0d7ffa76aeb49d72fdc"),
    ("click/Dataset/Culture/Korean History/History_PSE.json",
     "56af90cd31f515523d1509c5240d1ecc5a8c2ba6097c4d45fdd9b68d55d6f79b"),
    ("click/Dataset/Culture/Korean Law/Law_KIIP.json",
     "5d616a75cc83dbcee747b9b05fd5ebded8a8d2b3ae781184f94ff9b5e3845e34"),
    ("click/Dataset/Culture/Korean Law/Law_PSAT.json",
     "725015c647207ee86b6dc48334cd62a786a177bffacb11e6c512ea181668ae8b"),
    ("click/Dataset/Culture/Korean Politics/Politics_KIIP.json",
     "2297ecdad2c603023afdf22cb23a7714bc1675fffca2238b65029d0ee0a7e9b9"),
    ("click/Dataset/Culture/Korean Politics/Politics_Kedu.json",
     "9198f289b06558a5115262287a48c8ca841f210165decf866c028bcba52ac0f7"),
    ("click/Dataset/Culture/Korean Popular/Popular_KIIP.json",
     "010ccd5638319c8cbd1882181c0e5303f01367c66052ae2d70e1b0f4ec73a43a"),
    ("click/Dataset/Culture/Korean Popular/Popular_Kedu.json",
     "4d7af0a1c0149907f641fce907ae4c4d540b78d34a2b63d7d839cae10591c126"),
    ("click/Dataset/Culture/Korean Society/Society_KIIP.json",
     "4afb2c6bc0c19a50a1d7869b1c111828d17f665d8548be619bb522c4fd19a7b0"),
    ("click/Dataset/Culture/Korean Society/Society_Kedu.json",
     "e1adfba4d96aa323e186864ea0cefaa5bd73bf919a0f48c3b152d436690c1c01"),
    ("click/Dataset/Culture/Korean Tradition/Tradition_KIIP.json",
     "f2f9f34545c91064896ee1f58bd9e038b00ec4e33e94fe87db462cd6e9f8cd5a"),
    ("click/Dataset/Culture/Korean Tradition/Tradition_Kedu.json",
     "66526bb41ad7a385d0017f426ac884241cbc32b5e0c4d6c7f1cb396a8a38d494"),
    ("click/Dataset/Language/Functional/Functional_CSAT.json",
     "3cfd02b9ce0a80e6d7106402c162446c1a3ebe06bf7d90c4050ff3a84549f6bf"),
    ("click/Dataset/Language/Functional/Functional_Kedu.json",
     "43bd8292c91e86cd0a0d57c9468f94c68a08450f3b78b9a7fadd954b9b2127f8"),
    ("click/Dataset/Language/Functional/Functional_PSE.json",
     "82eacece9a0129bc10e1fe1e0a76fc6a781e79c22c67478bd30f937d6e0def54"),
    ("click/Dataset/Language/Grammar/Grammar_CSAT.json",
     "ef73021975dc75f27d11495753a41c309d30af7f88ae33607b5af90df13ca3e7"),
    ("click/Dataset/Language/Grammar/Grammar_Kedu.json",
     "9ea04c3f75c7cacf88e3fe8ea744b724659febab12155037d2927a9421a6193c"),
    ("click/Dataset/Language/Grammar/Grammar_TOPIK.json",
     "4a5b9a534581d9c66dd7cbabbda813d134f9c5f4146bdbacbb28607f935633a7"),
    ("click/Dataset/Language/Textual/Textual_CSAT.json",
     "3bfa478b58d3683c82ab343d1f3353d7a99074b7525b0c08ce79aac733df46be"),
    ("click/Dataset/Language/Textual/Textual_TOPIK.json",
     "8a92df7afa8cc415dca0e0368165f4ce3389fcdd65deb0fe78d57b293fca99d0"),
)


# --------------------------------------------------------------------------------------------------
# Domestic: KMMLU (Criminal-Law), CLIcK, KoBEST
# --------------------------------------------------------------------------------------------------

KMMLU = BenchmarkDecl(
    id="kmmlu-criminal-law", name="KMMLU (Criminal-Law)", language="ko", category="knowledge",
    source=local(("kmmlu/data/Criminal-Law-test.csv",
                  "997d867568fb7f12486d938645e2a95fe1f541c591a426cbd16b2dbf6fb5c601"), format="csv"),
    fields=FieldMap(choices=("A", "B", "C", "D"), answer_format="index1", strip=("question",)),
    template=Template(
        follows="lm-eval kmmlu (default, v2.0): options A-D, full-width '정답：', likelihood of ' A'..' D'; "
                "5-shot from dev in file order (the KMMLU paper's 5-shot setting)",
        query="{question}\n{choices}\n정답：", target=" {label}"),
    fewshot=FewShot(k=5, selection="first_n", source=local(
        ("kmmlu/data/Criminal-Law-dev.csv", "a81ee233c45c46bbbbb81ed24034b55b4d6ac8af1752f12d6278c79a9459bd79"),
        format="csv")),
    mode="loglik", scorer=_loglik("acc"), subblock=DOMESTIC,
    license="CC-BY-ND-4.0", citation="Son et al., 2024. KMMLU. arXiv:2402.11548",
    note="Only the Criminal-Law subject (1 of 45) is available offline.",
)

KMMLU_GEN = KMMLU.with_(
    id="kmmlu-criminal-law-gen", name="KMMLU (Criminal-Law), generative",
    fields=FieldMap(choices=("A", "B", "C", "D"), answer_format="index1", strip=("question", "choices")),
    template=Template(
        follows="HRET (haerae-evaluation-toolkit) kmmlu default prompt: brief reasoning, then "
                "'따라서, 정답은: X'; 0-shot",
        query='다음은 객관식 문제입니다. 당신의 추론 과정을 간결하게 요약한 후, "따라서, 정답은: X"라고 '
              "결론지으십시오. 여기서 X는 (A), (B), (C), (D) 중 하나입니다.\n\n질문: {question}\n{choices}"),
    fewshot=FewShot(), mode="generate", generation=Sampling(max_tokens=1024), scorer=_GEN_MCQ,
)

CLICK = BenchmarkDecl(
    id="click", name="CLIcK", language="ko", category="knowledge",
    source=LocalFiles(files=tuple(FileRef(path=p, sha256=s) for p, s in _CLICK), format="json"),
    fields=FieldMap(id="id", id_per_file=True, passage="paragraph", choice_list="choices", answer_format="choice_text",
                    cluster="paragraph"),
    template=Template(
        follows="lm-eval click (click_cul / click_lang): same instruction text; all options are listed "
                "(lm-eval hard-codes A-D and drops the 5th option of CSAT items) as 'A: ..., B: ...' "
                "(lm-eval writes 'A:' without a space); likelihood of the letter",
        query="주어진 맥락을 천천히 읽고, 질문에 대한 적절한 정답을 {labels} 중에 골라 알파벳 하나로 답하시오."
              "\n\n맥락: {passage}\n질문: {question}\n보기:\n{choices}\n정답:",
        query_no_passage="주어진 질문을 천천히 읽고, 적절한 정답을 {labels} 중에 골라 알파벳 하나로 답하시오."
                         "\n\n질문: {question}\n보기:\n{choices}\n정답:",
        choice_line="{label}: {choice}", choice_sep=", ", target=" {label}"),
    mode="loglik", scorer=_loglik("acc"), subblock=DOMESTIC,
    license="none stated (research use only; load from a path, never bundle)",
    citation="Kim et al., 2024. CLIcK. LREC-COLING 2024. arXiv:2403.06412",
    note="Items sharing a passage (CSAT/TOPIK reading sets) share a cluster.",
)

CLICK_GEN = CLICK.with_(
    id="click-gen", name="CLIcK, generative", mode="generate", generation=Sampling(max_tokens=512),
    scorer=_GEN_MCQ,
)

_KOBEST = {"language": "ko", "subblock": DOMESTIC, "license": "CC-BY-SA-4.0",
           "citation": "Kim et al., 2022. KoBEST. COLING 2022. arXiv:2204.04541"}
_KOBEST_FOLLOWS = "lm-eval kobest_{} (v1.0), text verbatim incl. its spacing; 0-shot; likelihood of each option"

KOBEST_BOOLQ = BenchmarkDecl(
    id="kobest-boolq", name="KoBEST BoolQ", category="knowledge", **_KOBEST,
    source=local(("kobest/v1.0/BoolQ/test.tsv", "d58309601b578f96c7f9b9d7437112f93ae872f69316a9e6a1d78eec34261d0b"),
                 format="tsv"),
    fields=FieldMap(id="ID", question="Question", passage="Text", fixed_choices=("아니오", "예"),
                    answer="Answer", answer_format="bool", cluster="Text"),
    template=Template(follows=_KOBEST_FOLLOWS.format("boolq"), query="{passage} 질문: {question} 답변: ",
                      target=" {choice}"),
    mode="loglik", scorer=_loglik("acc"),
)

KOBEST_COPA = BenchmarkDecl(
    id="kobest-copa", name="KoBEST COPA", category="reasoning", **_KOBEST,
    source=local(("kobest/v1.0/COPA/test.tsv", "3291a6b900c129e4525d45d879e63e53ee1efb611afe87038d9bd37344f85d5e"),
                 format="tsv"),
    fields=FieldMap(adapter="kobest_copa", id="ID", question="sentence", choices=("1", "2"), answer="Answer",
                    answer_format="index1", keep=("connector",)),
    template=Template(follows=_KOBEST_FOLLOWS.format("copa") + " (premise, a space, then ' 왜냐하면' / ' 그래서')",
                      query="{question} {connector}", target=" {choice}"),
    mode="loglik", scorer=_loglik("acc"),
)

KOBEST_HELLASWAG = BenchmarkDecl(
    id="kobest-hellaswag", name="KoBEST HellaSwag", category="reasoning", **_KOBEST,
    source=local(("kobest/v1.0/HellaSwag/test.tsv",
                  "94fae5735d54211bc7ed493c60abc23e770891dcd719feb229ebe76ee230bcbf"), format="tsv"),
    fields=FieldMap(question="context", choices=("choice1", "choice2", "choice3", "choice4"), answer="label",
                    answer_format="index0"),
    template=Template(follows=_KOBEST_FOLLOWS.format("hellaswag") + "; acc_norm by option length",
                      query="문장: {question}", target=" {choice}"),
    mode="loglik", scorer=_loglik("acc_norm", norm_by="choice"),
)

KOBEST_SENTINEG = BenchmarkDecl(
    id="kobest-sentineg", name="KoBEST SentiNeg", category="knowledge", **_KOBEST,
    source=local(("kobest/v1.0/SentiNeg/test.tsv",
                  "7bec3d31ccebee0db4cfcedc7205cfd7d21603ecaec5327ce4a74eff54d0007d"), format="tsv"),
    fields=FieldMap(id="ID", question="Text", fixed_choices=("부정", "긍정"), answer="Label",
                    answer_format="index0", keep=("Text_origin", "Label_origin", "Category_neg")),
    template=Template(follows=_KOBEST_FOLLOWS.format("sentineg"), query="문장: {question} 긍부정:",
                      target=" {choice}"),
    mode="loglik", scorer=_loglik("acc"),
)

KOBEST_WIC = BenchmarkDecl(
    id="kobest-wic", name="KoBEST WiC", category="knowledge", **_KOBEST,
    source=local(("kobest/v1.0/WiC/test.tsv", "583701d175f56d3b2c206ecf70b77d7932363a60f3559c256f4509601820f8aa"),
                 format="tsv"),
    fields=FieldMap(id="ID", question=None, fixed_choices=("아니오", "예"), answer="ANSWER", answer_format="bool",
                    keep=("Target", "SENTENCE1", "SENTENCE2")),
    template=Template(follows=_KOBEST_FOLLOWS.format("wic") + " ('가' after the word whatever its final sound)",
                      query="문장1: {SENTENCE1} 문장2: {SENTENCE2} 두 문장에서 {Target}가 같은 뜻으로 쓰였나?",
                      target=" {choice}"),
    mode="loglik", scorer=_loglik("acc"),
)

# --------------------------------------------------------------------------------------------------
# Global: GSM8K, MATH-500, MMLU, ARC, TruthfulQA
# --------------------------------------------------------------------------------------------------

GSM8K = BenchmarkDecl(
    id="gsm8k", name="GSM8K", language="en", category="math",
    source=local(("gsm8k/test.jsonl", "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14"),
                 format="jsonl"),
    fields=FieldMap(adapter="gsm8k", keep=("solution",)),
    template=Template(
        follows="lm-eval gsm8k: 'Question: ...\\nAnswer:' with 5 worked solutions ending '#### N'. The train "
                "split is not available offline, so shots are drawn (seeded per item) from the test split, "
                "never the item itself; stop at 'Question:' only (no '\\n\\n', which cuts chat answers)",
        query="Question: {question}\nAnswer:", target=" {solution}"),
    fewshot=FewShot(k=5, selection="random", seed=1234, split="test"),
    mode="generate", generation=Sampling(max_tokens=1024, stop=("Question:",)), scorer=ScorerRef(name="numeric"),
    subblock=GLOBAL, license="MIT", citation="Cobbe et al., 2021. arXiv:2110.14168",
)

MATH500 = BenchmarkDecl(
    id="math500", name="MATH-500", language="en", category="math",
    source=local(("math500/test.jsonl", "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132"),
                 format="jsonl"),
    fields=FieldMap(id="unique_id", question="problem", keep=("subject", "level")),
    template=Template(
        follows="the DeepSeek-R1 / Qwen2.5-Math MATH-500 instruction ('Please reason step by step, and put your "
                "final answer within \\boxed{}.'); 0-shot; graded by math-verify",
        query="{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."),
    mode="generate", generation=Sampling(max_tokens=4096), scorer=ScorerRef(name="math_equiv"),
    subblock=GLOBAL, license="MIT",
    citation="Hendrycks et al., 2021 (arXiv:2103.03874); Lightman et al., 2023 (arXiv:2305.20050)",
)

MMLU = BenchmarkDecl(
    id="mmlu", name="MMLU (57 subjects)", language="en", category="knowledge",
    source=local(*((f"mmlu/test/{s}_test.csv", h) for s, h in _MMLU_TEST.items()), format="csv"),
    fields=FieldMap(adapter="mmlu_subject", choices=("choice0", "choice1", "choice2", "choice3"),
                    answer_format="index0", keep=("subject", "subject_name"), strip=("question",)),
    template=Template(
        follows="lm-eval mmlu (default): subject description, 5 dev shots of the same subject in file order "
                "(first_n), '...\\nAnswer:', likelihood of ' A'..' D'",
        preamble="The following are multiple choice questions (with answers) about {subject_name}.\n\n",
        query="{question}\n{choices}\nAnswer:", target=" {label}"),
    fewshot=FewShot(k=5, selection="first_n", match="subject",
                    source=local(*((f"mmlu/dev/{s}_dev.csv", h) for s, h in _MMLU_DEV.items()), format="csv")),
    mode="loglik", scorer=_loglik("acc"), subblock=GLOBAL, license="MIT",
    citation="Hendrycks et al., 2021. ICLR 2021. arXiv:2009.03300",
    note="Items are independent (no cluster): a subject is a stratum, not a shared stimulus.",
)

MMLU_GEN = MMLU.with_(
    id="mmlu-gen", name="MMLU (57 subjects), generative",
    template=Template(**{**MMLU.template.model_dump(), "follows": "lm-eval mmlu_generative: the same text and "
                         "shots, answered in free text; the letter is extracted robustly"}),
    mode="generate", generation=Sampling(max_tokens=512), scorer=_GEN_MCQ,
)

_ARC = {
    "language": "en", "category": "reasoning", "subblock": GLOBAL, "license": "CC-BY-SA-4.0",
    "citation": "Clark et al., 2018. arXiv:1803.05457",
    "fields": FieldMap(question="query", choice_list="choices", answer="gold", answer_format="index0"),
    "template": Template(
        follows="lm-eval arc_easy / arc_challenge: 'Question: ...\\nAnswer:' (the MosaicML copy's query already "
                "starts with 'Question: '), likelihood of ' <option text>', acc_norm by option length",
        query="{question}\nAnswer:", target=" {choice}"),
    "mode": "loglik", "scorer": _loglik("acc_norm", norm_by="choice"),
}

ARC_CHALLENGE = BenchmarkDecl(
    id="arc-challenge", name="ARC-Challenge", **_ARC,
    source=local(("arc/arc_challenge.jsonl", "1ae3aeedf1951d881cbd5c2e3a31e78a1993d251479afbe4cb413b6707244636"),
                 format="jsonl"),
)

ARC_EASY = BenchmarkDecl(
    id="arc-easy", name="ARC-Easy", **_ARC,
    source=local(("arc/arc_easy.jsonl", "d2d12e59543acf9a5ef6079634a72b30215e36c2fd4236fff3bc855d287b87f5"),
                 format="jsonl"),
)

# the TruthfulQA paper's QA primer, pinned once beside the generation task's judge prompts
_QA_PRIMER = TRUTHFULQA_QA_PRIMER
_TRUTHFULQA_TEMPLATE = Template(
    follows="TruthfulQA original (sylinrl/TruthfulQA, QA primer) = lm-eval truthfulqa_mc1/mc2 v2.0: the 6-shot "
            "QA primer, 'Q: ...\\nA:', likelihood of ' <answer>'; options from the CSV, each closed with a period "
            "(the original's split_multi_answer)",
    preamble=_QA_PRIMER + "\n\n", query="Q: {question}\nA:", target=" {choice}")
_TRUTHFULQA = {
    "language": "en", "category": "reliability", "subblock": GLOBAL, "license": "Apache-2.0",
    "citation": "Lin, Hilton & Evans, 2022. ACL 2022. arXiv:2109.07958",
    "source": local(("truthfulqa/v2021/TruthfulQA.csv",
                     "99d6ae7755e3b435eade956068c9de7c0c474770344237aeb66b56519ba4b697"), format="csv"),
    "template": _TRUTHFULQA_TEMPLATE, "mode": "loglik",
    "note": "The classic 817-question CSV; MC sets are built from its columns, not HF's mc_task.json.",
}

TRUTHFULQA_MC1 = BenchmarkDecl(
    id="truthfulqa-mc1", name="TruthfulQA MC1", **_TRUTHFULQA,
    fields=FieldMap(adapter="truthfulqa_mc1", question="Question", choice_list="choices", answer_format="index0",
                    keep=("Type", "Category")),
    scorer=ScorerRef(name="truthfulqa_mc1"),
)

TRUTHFULQA_MC2 = BenchmarkDecl(
    id="truthfulqa-mc2", name="TruthfulQA MC2", **_TRUTHFULQA,
    fields=FieldMap(adapter="truthfulqa_mc2", question="Question", choice_list="choices", answer_format="indices",
                    keep=("Type", "Category")),
    scorer=ScorerRef(name="truthfulqa_mc2"),
)

# --------------------------------------------------------------------------------------------------

DECLARATIONS: tuple[BenchmarkDecl, ...] = (
    KMMLU, KMMLU_GEN, CLICK, CLICK_GEN, KOBEST_BOOLQ, KOBEST_COPA, KOBEST_HELLASWAG, KOBEST_SENTINEG, KOBEST_WIC,
    GSM8K, MATH500, MMLU, MMLU_GEN, ARC_CHALLENGE, ARC_EASY, TRUTHFULQA_MC1, TRUTHFULQA_MC2,
)
