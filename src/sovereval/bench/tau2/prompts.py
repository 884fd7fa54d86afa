"""τ²-bench's prompts (MIT, sierra-research/tau2-bench), pinned through the declarations' parameters."""

from __future__ import annotations

import textwrap
from typing import Any

#: ``LLMAgent``'s instruction block
AGENT_INSTRUCTION = (
    "You are a customer service agent that helps the user according to the <policy> provided below.\n"
    "In each turn you can either:\n"
    "- Send a message to the user.\n"
    "- Make a tool call.\n"
    "You cannot do both at the same time.\n\n"
    "Try to be helpful and always follow the policy. Always make sure you generate valid JSON only."
)

#: ``LLMAgent``'s system prompt (placeholders: ``agent_instruction``, ``domain_policy``)
AGENT_SYSTEM = "<instructions>\n{agent_instruction}\n</instructions>\n<policy>\n{domain_policy}\n</policy>"

#: the orchestrator's first message, from the agent, before anything is generated
FIRST_AGENT_MESSAGE = "Hi! How can I help you today?"

#: ``data/tau2/user_simulator/simulation_guidelines.md`` (the user has no tools in airline and retail)
USER_GUIDELINES = """# User Simulation Guidelines
You are playing the role of a customer contacting a customer service representative. 
Your goal is to simulate realistic customer interactions while following specific scenario instructions.

## Core Principles
- Generate one message at a time, maintaining natural conversation flow.
- Strictly follow the scenario instructions you have received.
- Never make up or hallucinate information not provided in the scenario instructions. Information that is not provided in the scenario instructions should be considered unknown or unavailable.
- Avoid repeating the exact instructions verbatim. Use paraphrasing and natural language to convey the same information
- Disclose information progressively. Wait for the agent to ask for specific information before providing it.

## Task Completion
- The goal is to continue the conversation until the task is complete.
- Do not end the conversation prematurely. Agreeing to an action is not the same as the action being completed. If the agent offers to do something (e.g., cancel an order, process a refund), wait for the agent to confirm it is done before ending the conversation.
- Before ending the conversation, verify that all items in your scenario instructions have been addressed. If your instructions include multiple requests, questions, or tasks, make sure every single one has been completed; do not stop after only some of them are resolved.
- If the instruction goal is satisified, generate the '###STOP###' token to end the conversation.
- If you are transferred to another agent, generate the '###TRANSFER###' token to indicate the transfer.
- If you find yourself in a situation in which the scenario does not provide enough information for you to continue the conversation, generate the '###OUT-OF-SCOPE###' token to end the conversation.
Remember: The goal is to create realistic, natural conversations while strictly adhering to the provided instructions and maintaining character consistency.
"""

#: ``UserSimulator``'s system prompt (placeholders: ``global_user_sim_guidelines_with_persona``, ``instructions``)
USER_SYSTEM = "{global_user_sim_guidelines_with_persona}\n\n<scenario>\n{instructions}\n</scenario>"

STOP, TRANSFER, OUT_OF_SCOPE = "###STOP###", "###TRANSFER###", "###OUT-OF-SCOPE###"

#: ``NLAssertionsEvaluator``'s judge prompts (the user prompt gets the transcript and the assertion list)
NL_JUDGE_SYSTEM = """
        TASK
        - You will be given a list of expected outcomes and a conversation that was collected during a test case run.
        - The conversation is between an agent and a customer.
        - Your job is to evaluate whether the agent satisfies each of the expected outcomes.
        - Grade each expected outcome individually.

        FORMAT
        - Your response should be a JSON object with the following fields:
        - `reasoning`: a short explanation for your classification
        - `metExpectation`: `true` if the agent satisfies the expected outcomes, `false` otherwise
        - `expectedOutcome`: repeat the expectation from the input that you are grading
        
        Example response structure:
        {
            "results": [
                {
                    "expectedOutcome": "<one of the expected outcomes from the input>",
                    "reasoning": "<reasoning trace>",
                    "metExpectation": <false or true>,
                }
            ]
        }
        """
NL_JUDGE_USER = "\n        conversation:\n        {conversation}\n        \n        expectedOutcomes:\n        {assertions}\n        "


def scenario_text(user_scenario: dict[str, Any]) -> str:
    """``str(UserScenario)``: persona (if any) and the structured (or plain) instructions, tab-indented."""
    lines = []
    persona = user_scenario.get("persona")
    if persona is not None:
        lines += ["Persona:", textwrap.indent(persona, "\t")]
    instructions = user_scenario["instructions"]
    if isinstance(instructions, dict):
        parts = [f"Domain: {instructions['domain']}",
                 f"Reason for call:\n{textwrap.indent(instructions['reason_for_call'], chr(9))}"]
        if instructions.get("known_info") is not None:
            parts.append(f"Known info:\n{textwrap.indent(instructions['known_info'], chr(9))}")
        if instructions.get("unknown_info") is not None:
            parts.append(f"Unknown info:\n{textwrap.indent(instructions['unknown_info'], chr(9))}")
        parts.append(f"Task instructions:\n{textwrap.indent(instructions['task_instructions'], chr(9))}")
        instructions = "\n".join(parts)
    lines += ["Instructions:", textwrap.indent(str(instructions), "\t")]
    return "\n".join(lines)
